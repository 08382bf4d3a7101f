//! The committed SDL is the contract: any schema change shows up as a diff of
//! `schema.graphql` in review. Regenerate with `UPDATE_SCHEMA=1 cargo test -p screenhook-api sdl`.

#[test]
fn committed_schema_matches() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let current = screenhook_api::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &current).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(path).expect("schema.graphql is committed");
    assert!(
        committed == current,
        "the schema changed; review it and regenerate schema.graphql with UPDATE_SCHEMA=1 cargo test -p screenhook-api sdl"
    );
}

#[test]
fn codesignal_names_are_present() {
    let sdl = screenhook_api::sdl();
    for needle in [
        "companyTest(id: ID!): CompanyTest",
        "companyTests(companyId: ID, first: Int!, offset: Int, ids: [ID!], titleSearchText: String, labels: [String!], sortBy: CompanyTestSortBy, sortDirection: SortDirection, targetUserId: ID): CompanyTests!",
        "companyTestSession(id: ID!): CompanyTestSession",
        "companyTestSessions(companyTestId: ID!, first: Int, offset: Int, ids: [ID!]): [CompanyTestSession]!",
        "atsCompanyTestSessions(id: String!, idType: AtsIdType!): [CompanyTestSession]!",
        "createCompanyTestSession(sessionFields: TestSessionInput!): CompanyTestSession",
        "createCompanyTestFromFramework(testFields: CreateCompanyTestFromFrameworkInput!): CompanyTest",
        "deleteCompanyTestSession(id: ID!, sendNotificationEmail: Boolean): ID!",
        "editCompanyTestSessionExpiration(id: ID!, expirationDate: Timestamp!): CompanyTestSession",
        "scalar Timestamp",
        // Certify GraphQL (removed by CodeSignal), answered and deprecated.
        "certificationRequest(requestFields: CertificationRequestInput!): CertificationRequest @deprecated(reason: \"Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use companyTestSession(id)",
        "expiredCertificationRequests(companyId: ID, standardizedTestId: ID, expirationDateFrom: Timestamp, expirationDateTo: Timestamp, first: Int!, offset: Int): CertificationRequests @deprecated(reason: \"Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use companyTestSessions(companyTestId)",
        "createCertificationRequest(requestFields: CreateCertificationRequestInput!): CertificationRequest @deprecated(reason: \"Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use createCompanyTestSession(sessionFields)",
        "revokeCertificationRequest(certificationRequestInput: CertificationRequestInput!): CertificationRequest! @deprecated(reason: \"Certify GraphQL (removed 2025-03-06), answered over Pre-Screen data: use deleteCompanyTestSession(id)",
        "lastStatus: CertificationRequestStatus!",
        "enum CertificationRequestStatus {\n\ttestStarted\n\ttestTaken\n\tshared\n\trejected\n\texpired\n\tpending\n}",
    ] {
        assert!(sdl.contains(needle), "missing from the schema: {needle}");
    }
}
