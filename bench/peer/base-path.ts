/** Where the bench Worker serves the peer's (Better Auth's) routes. */
export const PEER_BASE_PATH = "/__peer/auth";
