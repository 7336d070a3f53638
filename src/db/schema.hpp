// The database schema ferryd keeps in PostgreSQL, and its migrations. Every entry point (the
// server's start, `ferryd user ...`, `ferryd db migrate`) calls migrate() first, so the first
// command against an empty database creates everything. Migrations are serialised by an advisory
// lock, so two nodes starting at once do not race, and each step runs in its own transaction.
#pragma once
#include "db/pg.hpp"

namespace ferry::db {

inline constexpr int schema_version = 3;

// Brings the schema to schema_version. *from is the version found (0 = empty database). Refuses
// a database newer than this ferryd (a downgrade would misread it).
Status migrate(Connection& connection, int* from, std::string* error);

// Every change of an account (not of its usage) is announced on this channel (a trigger).
inline constexpr const char* accounts_channel = "ferry_accounts";
// And every failed login recorded by a node.
inline constexpr const char* failures_channel = "ferry_failures";

}  // namespace ferry::db
