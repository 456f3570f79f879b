-- The tables of the single app "troubleshooter" (release 0.1, before guides, runs and lab
-- became apps of their own), as its migrations 0001 and 0002 created them.
CREATE TABLE "troubleshooter_feedback" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "cause_id" varchar(64) NOT NULL, "framework_id" varchar(32) NOT NULL, "solved" bool NOT NULL, "comment" text NOT NULL, "created" datetime NOT NULL);
CREATE INDEX "troubleshooter_feedback_cause_id_6ce8d7d7" ON "troubleshooter_feedback" ("cause_id");
CREATE INDEX "troubleshoo_cause_i_d4e213_idx" ON "troubleshooter_feedback" ("cause_id", "framework_id");
CREATE TABLE "troubleshooter_run" ("id" char(32) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "finished" datetime NULL, "heartbeat" datetime NULL, "kind" varchar(16) NOT NULL, "state" varchar(16) NOT NULL, "url" varchar(2048) NOT NULL, "plan" text NOT NULL CHECK ((JSON_VALID("plan") OR "plan" IS NULL)), "framework" varchar(32) NOT NULL, "walk" varchar(1000) NOT NULL, "client" varchar(64) NOT NULL, "last_seq" integer unsigned NOT NULL CHECK ("last_seq" >= 0), "outcome" varchar(32) NOT NULL, "report" text NULL CHECK ((JSON_VALID("report") OR "report" IS NULL)));
CREATE TABLE "troubleshooter_runevents" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "first_seq" integer unsigned NOT NULL CHECK ("first_seq" >= 0), "last_seq" integer unsigned NOT NULL CHECK ("last_seq" >= 0), "events" text NOT NULL CHECK ((JSON_VALID("events") OR "events" IS NULL)), "run_id" char(32) NOT NULL REFERENCES "troubleshooter_run" ("id") DEFERRABLE INITIALLY DEFERRED, CONSTRAINT "one_batch_per_start" UNIQUE ("run_id", "first_seq"));
CREATE INDEX "troubleshooter_run_created_da2d27b0" ON "troubleshooter_run" ("created");
CREATE INDEX "troubleshooter_run_state_99fcf453" ON "troubleshooter_run" ("state");
CREATE INDEX "troubleshooter_run_client_bf62c1d5" ON "troubleshooter_run" ("client");
CREATE INDEX "troubleshooter_runevents_run_id_acc603ee" ON "troubleshooter_runevents" ("run_id");
CREATE INDEX "troubleshoo_run_id_a4605b_idx" ON "troubleshooter_runevents" ("run_id", "last_seq");
CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
