//! Roles, org kinds and the words of the model, each parsed once at the edge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[doc = $word] $variant),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The word stored and sent for this value.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $word),+ } }
            /// Parses the word.
            pub fn parse(s: &str) -> Option<Self> { match s { $($word => Some($name::$variant),)+ _ => None } }
            /// The accepted words, for error messages.
            pub fn words() -> String { [$($word),+].join(", ") }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

word_enum!(
    /// A user's role.
    Role {
        Admin = "admin",
        AssociationStaff = "association_staff",
        President = "president",
        TownStaff = "town_staff",
        DepartmentOfficer = "department_officer",
        VillageStaff = "village_staff",
        SiteStaff = "site_staff",
        Auditor = "auditor",
        Helper = "helper",
    }
);

impl Role {
    /// The role in Chinese, as the console names it.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::AssociationStaff => "协会工作人员",
            Role::President => "轮值会长",
            Role::TownStaff => "镇街助残服务中心",
            Role::DepartmentOfficer => "部门经办人",
            Role::VillageStaff => "村（社区）助残服务站",
            Role::SiteStaff => "延伸服务点",
            Role::Auditor => "审计",
            Role::Helper => "帮扶人",
        }
    }
}

word_enum!(
    /// The kind of an org unit.
    UnitKind { City = "city", Town = "town", Village = "village" }
);

word_enum!(
    /// The kind of an organisation.
    OrgKind {
        Association = "association",
        AssociationBranch = "association_branch",
        Dpf = "dpf",
        TownCentre = "town_centre",
        Department = "department",
        VillageStation = "village_station",
        VillageDpf = "village_dpf",
        ExtensionSite = "extension_site",
    }
);

word_enum!(
    /// A town department's remit.
    DepartmentType {
        CivilAffairs = "civil_affairs",
        SocialSecurity = "social_security",
        Health = "health",
        Education = "education",
        Housing = "housing",
        MedicalInsurance = "medical_insurance",
        Employment = "employment",
        Other = "other",
    }
);

word_enum!(
    /// What an extension site is.
    SiteType {
        Enterprise = "enterprise",
        ServiceAgency = "service_agency",
        RukangHome = "rukang_home",
        Other = "other",
    }
);

word_enum!(
    /// A person's registration status.
    PersonStatus { Active = "active", MovedOut = "moved_out", Deceased = "deceased" }
);

word_enum!(
    /// What a helper is to the village.
    HelperKind {
        VillageCadre = "village_cadre",
        Volunteer = "volunteer",
        PartyMember = "party_member",
        GridWorker = "grid_worker",
        Family = "family",
        Other = "other",
    }
);

impl HelperKind {
    /// The kind in Chinese, as the console names it.
    pub fn zh(self) -> &'static str {
        match self {
            HelperKind::VillageCadre => "村干部",
            HelperKind::Volunteer => "志愿者",
            HelperKind::PartyMember => "党员",
            HelperKind::GridWorker => "网格员",
            HelperKind::Family => "亲属",
            HelperKind::Other => "其他",
        }
    }
}

impl UnitKind {
    /// The kind in Chinese, as the console and the reports name it.
    pub fn zh(self) -> &'static str {
        match self {
            UnitKind::City => "市",
            UnitKind::Town => "镇（街道）",
            UnitKind::Village => "村（社区）",
        }
    }

    /// The kind of unit a child of this one has.
    pub fn child(self) -> Option<UnitKind> {
        match self {
            UnitKind::City => Some(UnitKind::Town),
            UnitKind::Town => Some(UnitKind::Village),
            UnitKind::Village => None,
        }
    }
}

impl OrgKind {
    /// Which unit kind an organisation of this kind sits at.
    pub fn unit_kind(self) -> UnitKind {
        match self {
            OrgKind::Association | OrgKind::AssociationBranch | OrgKind::Dpf => UnitKind::City,
            OrgKind::TownCentre | OrgKind::Department => UnitKind::Town,
            OrgKind::VillageStation | OrgKind::VillageDpf => UnitKind::Village,
            // an extension site may sit at any level
            OrgKind::ExtensionSite => UnitKind::Village,
        }
    }

    /// Kinds created automatically with their unit (never through `POST /organizations`).
    pub fn is_singleton(self) -> bool {
        matches!(
            self,
            OrgKind::Association
                | OrgKind::Dpf
                | OrgKind::TownCentre
                | OrgKind::VillageStation
                | OrgKind::VillageDpf
        )
    }
}

impl Role {
    /// The organisation kinds a user of this role may belong to.
    pub fn allowed_org_kinds(self) -> &'static [OrgKind] {
        use OrgKind::*;
        match self {
            Role::Admin => &[Dpf, Association],
            Role::AssociationStaff => &[Association, AssociationBranch],
            Role::President => &[Association],
            Role::TownStaff => &[TownCentre],
            Role::DepartmentOfficer => &[Department],
            Role::VillageStaff => &[VillageStation, VillageDpf],
            Role::SiteStaff => &[ExtensionSite],
            // a helper who signs in sits at its village's station (its scope is its own groups)
            Role::Helper => &[VillageStation],
            Role::Auditor => &[
                Association,
                AssociationBranch,
                Dpf,
                TownCentre,
                Department,
                VillageStation,
                VillageDpf,
                ExtensionSite,
            ],
        }
    }
}
