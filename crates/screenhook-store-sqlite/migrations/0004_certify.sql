-- Certify imports: which test or session each old Certify id of a company became. The key
-- makes a second import of the same line write nothing.
CREATE TABLE certify_ids (
    company_id  TEXT NOT NULL,
    kind        TEXT NOT NULL, -- test | request
    old_id      TEXT NOT NULL,
    new_id      TEXT NOT NULL,
    PRIMARY KEY (company_id, kind, old_id)
) WITHOUT ROWID;
