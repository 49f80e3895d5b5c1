-- reviewkit schema 5: moderators' decisions on answers that may be published.
CREATE TABLE moderations (
    answer_id   text PRIMARY KEY REFERENCES answers (id) ON DELETE CASCADE,
    state       text NOT NULL,
    by_whom     text NOT NULL,
    at          bigint NOT NULL,
    reason      text
);
CREATE INDEX moderations_approved ON moderations (at) WHERE state = 'approved';
