#include "sources/pg/basebackup.h"

#include <gtest/gtest.h>

namespace lifeboat::sources::pg {
namespace {

TEST(BaseBackup, RelationFilesAreRecognised) {
  for (const char* yes : {"base/5/16384", "base/5/16384.1", "base/5/16384_fsm", "base/5/16384_vm", "global/1262",
                          "base/1/2619_init", "PG_15_202209061/16390/16400", "PG_15_202209061/16390/16400.12"})
    EXPECT_TRUE(is_relation_file(yes)) << yes;
  for (const char* no : {"PG_VERSION", "global/pg_control", "base/5/PG_VERSION", "base/5/pg_filenode.map",
                         "pg_xact/0000", "base/5/16384.tmp", "postgresql.conf", "base/16384"})
    EXPECT_FALSE(is_relation_file(no)) << no;
}

TEST(BaseBackup, ConnectionErrorsSayWhatToDo) {
  EXPECT_EQ(connection_hint("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the "
                            "server running on that host and accepting TCP/IP connections?\n"),
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running on that "
            "host and accepting TCP/IP connections?; check that the server is running and the host/port/socket in "
            "--dsn");
  EXPECT_NE(connection_hint("FATAL:  password authentication failed for user \"x\"").find("PGPASSWORD"),
            std::string::npos);
  EXPECT_NE(connection_hint("FATAL:  no pg_hba.conf entry for replication connection from host").find("pg_hba.conf"),
            std::string::npos);
}

}  // namespace
}  // namespace lifeboat::sources::pg
