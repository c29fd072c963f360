DROP TABLE visit_reminders;
DROP TABLE need_notices;
DROP TABLE notifications;
