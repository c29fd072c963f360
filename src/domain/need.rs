//! The need state machine of the dual closed loop (双闭环), as a pure function:
//! (state, loop, level, action, who the caller is to the need) → a transition or a refusal.
//!
//! The HTTP and database layers only carry out what [`decide`] returns, in one transaction
//! with the event row.

use serde::{Deserialize, Serialize};

macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($v:ident = $w:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[doc = $w] $v),+ }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The stored word.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $w),+ } }
            /// Parses the stored word.
            pub fn parse(s: &str) -> Option<Self> { match s { $($w => Some($name::$v),)+ _ => None } }
            /// The accepted words, for messages.
            pub fn words() -> String { [$($w),+].join(", ") }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

words!(
    /// Where a need stands.
    State {
        Reported = "reported",
        Registered = "registered",
        Referred = "referred",
        Escalated = "escalated",
        InProgress = "in_progress",
        Resolved = "resolved",
        Closed = "closed",
        Withdrawn = "withdrawn",
    }
);

words!(
    /// The loop a need travels once triaged.
    Loop { Policy = "policy", Social = "social" }
);

words!(
    /// The level of the tree holding a need.
    Level { Village = "village", Town = "town", City = "city" }
);

words!(
    /// What a caller can do to a need (`POST /needs/{id}/actions/{action}`).
    ActionKind {
        Register = "register",
        Refer = "refer",
        Accept = "accept",
        Return = "return",
        Assign = "assign",
        Escalate = "escalate",
        Reroute = "reroute",
        Resolve = "resolve",
        Verify = "verify",
        Withdraw = "withdraw",
        Comment = "comment",
    }
);

words!(
    /// The category of a need.
    Category {
        Rehabilitation = "rehabilitation",
        AssistiveDevice = "assistive_device",
        Education = "education",
        Employment = "employment",
        Allowance = "allowance",
        Medical = "medical",
        Housing = "housing",
        DailyCare = "daily_care",
        Culture = "culture",
        LegalAid = "legal_aid",
        Other = "other",
    }
);

words!(
    /// How urgent a need is; urgent needs get half of each SLA.
    Urgency { Normal = "normal", Urgent = "urgent" }
);

impl Category {
    /// The category in Chinese, as people say it.
    pub fn zh(self) -> &'static str {
        match self {
            Category::Rehabilitation => "康复",
            Category::AssistiveDevice => "辅具",
            Category::Education => "教育",
            Category::Employment => "就业",
            Category::Allowance => "补贴",
            Category::Medical => "医疗",
            Category::Housing => "住房",
            Category::DailyCare => "生活照料",
            Category::Culture => "文化",
            Category::LegalAid => "法律援助",
            Category::Other => "其他",
        }
    }
}

/// Events a need's history holds that change no state (its version counts the others).
pub const KEEPS_STATE: &[&str] = &[
    "comment",
    "sla_breached",
    "handover",
    "allocate",
    "allocation_reversed",
    "transfer",
    "attach",
];

impl State {
    /// The state in Chinese, as the console and the reports show it.
    pub fn zh(self) -> &'static str {
        match self {
            State::Reported => "已上报",
            State::Registered => "已登记",
            State::Referred => "已转办",
            State::Escalated => "已上报上级",
            State::InProgress => "办理中",
            State::Resolved => "待回访",
            State::Closed => "已办结",
            State::Withdrawn => "已撤回",
        }
    }

    /// Closed and withdrawn needs are finished.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::Withdrawn)
    }
}

impl Loop {
    /// The loop in Chinese (政策闭环 / 社会闭环).
    pub fn zh(self) -> &'static str {
        match self {
            Loop::Policy => "政策闭环",
            Loop::Social => "社会闭环",
        }
    }
}

impl Urgency {
    /// The urgency in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Urgency::Normal => "一般",
            Urgency::Urgent => "紧急",
        }
    }
}

impl ActionKind {
    /// The action in Chinese: the name of its button in the console (SPEC §6, binding).
    pub fn zh(self) -> &'static str {
        match self {
            ActionKind::Register => "登记",
            ActionKind::Refer => "转介",
            ActionKind::Accept => "签收",
            ActionKind::Return => "退单",
            ActionKind::Assign => "派单",
            ActionKind::Escalate => "上报",
            ActionKind::Reroute => "转社会闭环",
            ActionKind::Resolve => "办结",
            ActionKind::Verify => "回访",
            ActionKind::Withdraw => "撤销",
            ActionKind::Comment => "留言",
        }
    }
}

impl Level {
    /// The level in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Level::Village => "村级",
            Level::Town => "镇街级",
            Level::City => "市级",
        }
    }

    /// The level above, if any.
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Village => Some(Level::Town),
            Level::Town => Some(Level::City),
            Level::City => None,
        }
    }
}

/// An action with the parts of its body that decide the transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Triage into a loop.
    Register(Loop),
    /// Refer a policy need to a department of the person's town.
    Refer,
    /// 签收: the handler signs for it.
    Accept,
    /// 退单: not this department's remit.
    Return,
    /// Mobilise a user, a team or a site.
    Assign,
    /// Up one level.
    Escalate,
    /// Out of the policy loop into the social loop at the town.
    Reroute,
    /// The handler records the outcome.
    Resolve,
    /// 回访: the village follows up; satisfied closes, unsatisfied reopens.
    Verify {
        /// Whether the person's need was really met.
        satisfied: bool,
    },
    /// Withdrawn (e.g. the person no longer needs it).
    Withdraw,
    /// A note in the history; no state change.
    Comment,
}

impl Action {
    /// The kind of this action.
    pub fn kind(self) -> ActionKind {
        match self {
            Action::Register(_) => ActionKind::Register,
            Action::Refer => ActionKind::Refer,
            Action::Accept => ActionKind::Accept,
            Action::Return => ActionKind::Return,
            Action::Assign => ActionKind::Assign,
            Action::Escalate => ActionKind::Escalate,
            Action::Reroute => ActionKind::Reroute,
            Action::Resolve => ActionKind::Resolve,
            Action::Verify { .. } => ActionKind::Verify,
            Action::Withdraw => ActionKind::Withdraw,
            Action::Comment => ActionKind::Comment,
        }
    }
}

/// Who the caller is to this need (computed by the service layer from the caller and the need).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// Staff of the organisation now handling the need.
    pub handler_staff: bool,
    /// Village staff of the person's village.
    pub village_staff: bool,
    /// Town staff of the person's town.
    pub town_staff: bool,
    /// A department officer of the department holding the need.
    pub handling_officer: bool,
    /// Staff of the extension site the need is assigned to.
    pub assigned_site_staff: bool,
    /// An admin of the need's city (or the deployment admin).
    pub admin: bool,
    /// An auditor: reads, never writes.
    pub auditor: bool,
}

impl Relation {
    /// Every relation but the auditor's: whoever a step needs (the synthetic loader's histories,
    /// the state machine's own tests).
    pub const EVERY_ROLE: Relation = Relation {
        handler_staff: true,
        village_staff: true,
        town_staff: true,
        handling_officer: true,
        assigned_site_staff: true,
        admin: true,
        auditor: false,
    };
}

/// Which organisation handles the need after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// Unchanged.
    Keep,
    /// The village's station (social loop at the village).
    VillageStation,
    /// The department named in the refer body.
    Department,
    /// Whoever held it before the referral (return).
    BeforeReferral,
    /// The town's centre.
    TownCentre,
    /// The city's association.
    Association,
}

/// Who is assigned after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// Unchanged.
    Keep,
    /// Nobody (the new handler will assign).
    Clear,
    /// The on-duty president (city escalation).
    OnDutyPresident,
    /// What the assign body names.
    FromBody,
}

/// What a permitted action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state after.
    pub to: State,
    /// The loop after.
    pub loop_: Option<Loop>,
    /// The level after.
    pub level: Level,
    /// The handler after.
    pub handler: Handler,
    /// The assignee after.
    pub assignee: Assignee,
    /// Whether this counts as a state change (version + 1, new deadline).
    pub changes_state: bool,
    /// An unsatisfied follow-up: `reopen_count` + 1.
    pub reopen: bool,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403: the caller's role or relation may not do this action.
    Forbidden,
    /// 409 `invalid_transition`: not from this state (or loop, or level).
    InvalidTransition,
}

/// A need as the state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedView {
    /// Its state.
    pub state: State,
    /// Its loop (none until registered).
    pub loop_: Option<Loop>,
    /// Its level.
    pub level: Level,
}

/// Who may attempt an action at all: the 403 check, before the state, the version or the body
/// is looked at. It depends only on the kind of action, not on its body.
pub fn may(action: ActionKind, who: Relation) -> bool {
    if who.auditor {
        return false;
    }
    match action {
        ActionKind::Register => who.village_staff,
        ActionKind::Refer => who.village_staff || who.town_staff,
        ActionKind::Accept | ActionKind::Assign | ActionKind::Escalate => who.handler_staff,
        ActionKind::Return => who.handling_officer,
        ActionKind::Reroute => who.handling_officer || who.town_staff,
        ActionKind::Resolve => who.handler_staff || who.assigned_site_staff,
        ActionKind::Verify => who.village_staff,
        ActionKind::Withdraw => who.village_staff || who.admin,
        // anyone in scope but the auditor; the caller reached this need, so it is in scope
        ActionKind::Comment => true,
    }
}

/// The actions the caller may take on the need now (`comment` excluded): exactly those that
/// [`decide`] would carry out, so a list of buttons can never disagree with the 403/409 rule.
pub fn permitted(need: NeedView, who: Relation) -> Vec<ActionKind> {
    ActionKind::ALL
        .iter()
        .copied()
        .filter(|&k| k != ActionKind::Comment)
        .filter(|&k| {
            // an action whose body decides the transition is possible when some body makes it so
            let variants: &[Action] = match k {
                ActionKind::Register => &[
                    Action::Register(Loop::Policy),
                    Action::Register(Loop::Social),
                ],
                ActionKind::Verify => &[Action::Verify { satisfied: true }],
                ActionKind::Refer => &[Action::Refer],
                ActionKind::Accept => &[Action::Accept],
                ActionKind::Return => &[Action::Return],
                ActionKind::Assign => &[Action::Assign],
                ActionKind::Escalate => &[Action::Escalate],
                ActionKind::Reroute => &[Action::Reroute],
                ActionKind::Resolve => &[Action::Resolve],
                ActionKind::Withdraw => &[Action::Withdraw],
                ActionKind::Comment => &[Action::Comment],
            };
            variants.iter().any(|&a| decide(need, a, who).is_ok())
        })
        .collect()
}

/// Decides what an action does to a need, or why it is refused.
pub fn decide(need: NeedView, action: Action, who: Relation) -> Result<Transition, Refusal> {
    if !may(action.kind(), who) {
        return Err(Refusal::Forbidden);
    }
    let NeedView {
        state,
        loop_,
        level,
    } = need;
    let stay = Transition {
        to: state,
        loop_,
        level,
        handler: Handler::Keep,
        assignee: Assignee::Keep,
        changes_state: true,
        reopen: false,
    };
    let social = loop_ == Some(Loop::Social);
    let policy = loop_ == Some(Loop::Policy);
    use State::*;
    let t = match action {
        Action::Comment => Transition {
            changes_state: false,
            ..stay
        },
        Action::Register(l) if state == Reported => Transition {
            to: Registered,
            loop_: Some(l),
            handler: if l == Loop::Social {
                Handler::VillageStation
            } else {
                Handler::Keep
            },
            ..stay
        },
        Action::Refer if state == Registered && policy => Transition {
            to: Referred,
            level: Level::Town,
            handler: Handler::Department,
            assignee: Assignee::Clear,
            ..stay
        },
        Action::Accept
            if state == Referred || (state == Registered && social) || state == Escalated =>
        {
            Transition {
                to: InProgress,
                ..stay
            }
        }
        Action::Return if state == Referred => Transition {
            to: Registered,
            handler: Handler::BeforeReferral,
            assignee: Assignee::Clear,
            ..stay
        },
        Action::Assign if social && matches!(state, Registered | Escalated | InProgress) => {
            Transition {
                to: InProgress,
                assignee: Assignee::FromBody,
                ..stay
            }
        }
        Action::Escalate if social && matches!(state, Registered | Escalated | InProgress) => {
            match level.up() {
                None => return Err(Refusal::InvalidTransition),
                Some(up) => Transition {
                    to: Escalated,
                    level: up,
                    handler: if up == Level::City {
                        Handler::Association
                    } else {
                        Handler::TownCentre
                    },
                    assignee: if up == Level::City {
                        Assignee::OnDutyPresident
                    } else {
                        Assignee::Clear
                    },
                    ..stay
                },
            }
        }
        Action::Reroute if policy && matches!(state, Referred | InProgress) => Transition {
            to: Escalated,
            loop_: Some(Loop::Social),
            level: Level::Town,
            handler: Handler::TownCentre,
            assignee: Assignee::Clear,
            ..stay
        },
        Action::Resolve if state == InProgress => Transition {
            to: Resolved,
            ..stay
        },
        Action::Verify { satisfied } if state == Resolved => {
            if satisfied {
                Transition { to: Closed, ..stay }
            } else {
                Transition {
                    to: InProgress,
                    reopen: true,
                    ..stay
                }
            }
        }
        Action::Withdraw if !state.is_final() => Transition {
            to: Withdrawn,
            ..stay
        },
        _ => return Err(Refusal::InvalidTransition),
    };
    Ok(t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EVERYONE: Relation = Relation::EVERY_ROLE;
    const NOBODY: Relation = Relation {
        handler_staff: false,
        village_staff: false,
        town_staff: false,
        handling_officer: false,
        assigned_site_staff: false,
        admin: false,
        auditor: false,
    };
    // a caller who is only this to the need
    const VILLAGE: Relation = Relation {
        village_staff: true,
        ..NOBODY
    };
    const TOWN: Relation = Relation {
        town_staff: true,
        ..NOBODY
    };
    const HANDLER: Relation = Relation {
        handler_staff: true,
        ..NOBODY
    };
    const OFFICER: Relation = Relation {
        handling_officer: true,
        ..NOBODY
    };
    const SITE: Relation = Relation {
        assigned_site_staff: true,
        ..NOBODY
    };
    const ADMIN: Relation = Relation {
        admin: true,
        ..NOBODY
    };
    const AUDITOR: Relation = Relation {
        auditor: true,
        ..EVERYONE
    };

    fn view(state: State, loop_: Option<Loop>, level: Level) -> NeedView {
        NeedView {
            state,
            loop_,
            level,
        }
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::Register(Loop::Policy),
            Action::Register(Loop::Social),
            Action::Refer,
            Action::Accept,
            Action::Return,
            Action::Assign,
            Action::Escalate,
            Action::Reroute,
            Action::Resolve,
            Action::Verify { satisfied: true },
            Action::Verify { satisfied: false },
            Action::Withdraw,
            Action::Comment,
        ]
    }

    fn loops() -> Vec<Option<Loop>> {
        vec![None, Some(Loop::Policy), Some(Loop::Social)]
    }

    /// The spec's table, restated independently: is (state, loop, level, action) allowed?
    fn table_allows(s: State, l: Option<Loop>, lv: Level, a: Action) -> bool {
        use State::*;
        let social = l == Some(Loop::Social);
        let policy = l == Some(Loop::Policy);
        match a {
            Action::Register(_) => s == Reported,
            Action::Refer => s == Registered && policy,
            Action::Accept => s == Referred || (s == Registered && social) || s == Escalated,
            Action::Return => s == Referred,
            Action::Assign => social && [Registered, Escalated, InProgress].contains(&s),
            Action::Escalate => {
                social && [Registered, Escalated, InProgress].contains(&s) && lv != Level::City
            }
            Action::Reroute => policy && [Referred, InProgress].contains(&s),
            Action::Resolve => s == InProgress,
            Action::Verify { .. } => s == Resolved,
            Action::Withdraw => !matches!(s, Closed | Withdrawn),
            Action::Comment => true,
        }
    }

    #[test]
    fn every_state_loop_level_and_action_matches_the_table() {
        let mut allowed = 0;
        let mut refused = 0;
        for &s in State::ALL {
            for l in loops() {
                for &lv in Level::ALL {
                    for a in actions() {
                        let got = decide(
                            NeedView {
                                state: s,
                                loop_: l,
                                level: lv,
                            },
                            a,
                            EVERYONE,
                        );
                        if table_allows(s, l, lv, a) {
                            assert!(got.is_ok(), "{s} {l:?} {lv} {a:?} should be allowed");
                            allowed += 1;
                        } else {
                            assert_eq!(
                                got,
                                Err(Refusal::InvalidTransition),
                                "{s} {l:?} {lv} {a:?}"
                            );
                            refused += 1;
                        }
                    }
                }
            }
        }
        assert!(allowed > 100 && refused > 100);
    }

    #[test]
    fn permitted_lists_exactly_what_decide_allows() {
        let relations = [
            EVERYONE, NOBODY, VILLAGE, TOWN, HANDLER, OFFICER, SITE, ADMIN, AUDITOR,
        ];
        for &s in State::ALL {
            for l in loops() {
                for &lv in Level::ALL {
                    let view = NeedView {
                        state: s,
                        loop_: l,
                        level: lv,
                    };
                    for who in relations {
                        let got = permitted(view, who);
                        for a in actions() {
                            if a == Action::Comment {
                                continue;
                            }
                            // verify is offered when a follow-up is due, whatever its answer
                            if decide(view, a, who).is_ok() {
                                assert!(got.contains(&a.kind()), "{s} {l:?} {lv} {a:?} {who:?}");
                            }
                        }
                        for k in &got {
                            assert!(actions()
                                .iter()
                                .any(|&a| a.kind() == *k && decide(view, a, who).is_ok()));
                            assert!(may(*k, who));
                        }
                        assert!(!got.contains(&ActionKind::Comment));
                    }
                }
            }
        }
        // a village worker at a fresh report may register or withdraw it, nothing else
        let fresh = NeedView {
            state: State::Reported,
            loop_: None,
            level: Level::Village,
        };
        assert_eq!(
            permitted(fresh, VILLAGE),
            vec![ActionKind::Register, ActionKind::Withdraw]
        );
    }

    #[test]
    fn the_auditor_may_do_nothing_not_even_comment() {
        for &s in State::ALL {
            for a in actions() {
                let got = decide(
                    NeedView {
                        state: s,
                        loop_: Some(Loop::Social),
                        level: Level::Village,
                    },
                    a,
                    AUDITOR,
                );
                assert_eq!(got, Err(Refusal::Forbidden));
            }
        }
    }

    #[test]
    fn who_may_act_follows_the_table() {
        let cases: Vec<(Action, Vec<Relation>, Vec<Relation>)> = vec![
            (
                Action::Register(Loop::Social),
                vec![VILLAGE],
                vec![TOWN, HANDLER, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Refer,
                vec![VILLAGE, TOWN],
                vec![HANDLER, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Accept,
                vec![HANDLER],
                vec![VILLAGE, TOWN, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Return,
                vec![OFFICER],
                vec![VILLAGE, TOWN, HANDLER, SITE, ADMIN],
            ),
            (
                Action::Assign,
                vec![HANDLER],
                vec![VILLAGE, TOWN, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Escalate,
                vec![HANDLER],
                vec![VILLAGE, TOWN, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Reroute,
                vec![OFFICER, TOWN],
                vec![VILLAGE, HANDLER, SITE, ADMIN],
            ),
            (
                Action::Resolve,
                vec![HANDLER, SITE],
                vec![VILLAGE, TOWN, OFFICER, ADMIN],
            ),
            (
                Action::Verify { satisfied: true },
                vec![VILLAGE],
                vec![TOWN, HANDLER, OFFICER, SITE, ADMIN],
            ),
            (
                Action::Withdraw,
                vec![VILLAGE, ADMIN],
                vec![TOWN, HANDLER, OFFICER, SITE],
            ),
            (
                Action::Comment,
                vec![VILLAGE, TOWN, HANDLER, OFFICER, SITE, ADMIN, NOBODY],
                vec![],
            ),
        ];
        for (action, yes, no) in cases {
            for r in yes {
                assert_ne!(
                    decide(
                        view(State::Closed, Some(Loop::Policy), Level::City),
                        action,
                        r
                    ),
                    Err(Refusal::Forbidden),
                    "{action:?} {r:?}"
                );
            }
            for r in no {
                assert_eq!(
                    decide(view(State::Reported, None, Level::Village), action, r),
                    Err(Refusal::Forbidden),
                    "{action:?} {r:?}"
                );
            }
        }
    }

    #[test]
    fn register_sets_the_loop_and_the_social_loop_moves_to_the_station() {
        let n = NeedView {
            state: State::Reported,
            loop_: None,
            level: Level::Village,
        };
        let p = decide(n, Action::Register(Loop::Policy), EVERYONE).unwrap();
        assert_eq!(
            (p.to, p.loop_, p.handler),
            (State::Registered, Some(Loop::Policy), Handler::Keep)
        );
        let s = decide(n, Action::Register(Loop::Social), EVERYONE).unwrap();
        assert_eq!(
            (s.to, s.loop_, s.handler),
            (
                State::Registered,
                Some(Loop::Social),
                Handler::VillageStation
            )
        );
    }

    #[test]
    fn escalation_climbs_one_level_and_the_city_goes_to_the_president() {
        let v = NeedView {
            state: State::InProgress,
            loop_: Some(Loop::Social),
            level: Level::Village,
        };
        let t = decide(v, Action::Escalate, EVERYONE).unwrap();
        assert_eq!(
            (t.to, t.level, t.handler, t.assignee),
            (
                State::Escalated,
                Level::Town,
                Handler::TownCentre,
                Assignee::Clear
            )
        );
        let c = decide(
            NeedView {
                level: Level::Town,
                ..v
            },
            Action::Escalate,
            EVERYONE,
        )
        .unwrap();
        assert_eq!(
            (c.level, c.handler, c.assignee),
            (Level::City, Handler::Association, Assignee::OnDutyPresident)
        );
        assert_eq!(
            decide(
                NeedView {
                    level: Level::City,
                    ..v
                },
                Action::Escalate,
                EVERYONE
            ),
            Err(Refusal::InvalidTransition)
        );
        // a policy need leaves its loop only by reroute
        let policy = NeedView {
            loop_: Some(Loop::Policy),
            ..v
        };
        for a in [Action::Escalate, Action::Assign] {
            assert_eq!(decide(policy, a, EVERYONE), Err(Refusal::InvalidTransition));
        }
    }

    #[test]
    fn refer_return_and_reroute_move_between_the_loops() {
        let reg = NeedView {
            state: State::Registered,
            loop_: Some(Loop::Policy),
            level: Level::Village,
        };
        let r = decide(reg, Action::Refer, EVERYONE).unwrap();
        assert_eq!(
            (r.to, r.level, r.handler),
            (State::Referred, Level::Town, Handler::Department)
        );
        let referred = NeedView {
            state: State::Referred,
            loop_: Some(Loop::Policy),
            level: Level::Town,
        };
        let back = decide(referred, Action::Return, EVERYONE).unwrap();
        assert_eq!(
            (back.to, back.handler),
            (State::Registered, Handler::BeforeReferral)
        );
        let re = decide(referred, Action::Reroute, EVERYONE).unwrap();
        assert_eq!(
            (re.to, re.loop_, re.level, re.handler),
            (
                State::Escalated,
                Some(Loop::Social),
                Level::Town,
                Handler::TownCentre
            )
        );
    }

    #[test]
    fn follow_up_closes_or_reopens_with_the_same_handler() {
        let res = NeedView {
            state: State::Resolved,
            loop_: Some(Loop::Social),
            level: Level::Town,
        };
        let ok = decide(res, Action::Verify { satisfied: true }, EVERYONE).unwrap();
        assert_eq!(
            (ok.to, ok.reopen, ok.handler),
            (State::Closed, false, Handler::Keep)
        );
        let no = decide(res, Action::Verify { satisfied: false }, EVERYONE).unwrap();
        assert_eq!(
            (no.to, no.reopen, no.handler),
            (State::InProgress, true, Handler::Keep)
        );
    }

    #[test]
    fn comments_change_nothing() {
        for &s in State::ALL {
            let n = NeedView {
                state: s,
                loop_: Some(Loop::Social),
                level: Level::Town,
            };
            let t = decide(n, Action::Comment, EVERYONE).unwrap();
            assert_eq!((t.to, t.level, t.changes_state), (s, Level::Town, false));
        }
    }
}
