#include "sources/pg/dump_session.h"

#include <gtest/gtest.h>

#include "sources/pg/dump_tools.h"
#include "unit/test_util.h"

namespace lifeboat::sources::pg {
namespace {

TEST(ParseConninfo, KeyValue) {
  auto ci = parse_conninfo("host=db1 port=5433 dbname=app user=backup password='s3 cr\\'et'");
  ASSERT_TRUE(ci.is_ok()) << ci.status().to_string();
  EXPECT_EQ(ci->get("host"), "db1");
  EXPECT_EQ(ci->get("dbname"), "app");
  ASSERT_TRUE(ci->password());
  EXPECT_EQ(*ci->password(), "s3 cr'et");
  std::string without = ci->without_password();
  EXPECT_EQ(without.find("password"), std::string::npos);
  EXPECT_EQ(without.find("s3"), std::string::npos);
  // What we give a child parses back to the same settings.
  auto again = parse_conninfo(without);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->get("host"), "db1");
  EXPECT_EQ(again->get("port"), "5433");
  EXPECT_EQ(again->get("user"), "backup");
}

TEST(ParseConninfo, Uri) {
  auto ci = parse_conninfo("postgresql://backup:pw@db1:5433/app?sslmode=disable");
  ASSERT_TRUE(ci.is_ok());
  EXPECT_EQ(ci->get("dbname"), "app");
  EXPECT_EQ(ci->get("sslmode"), "disable");
  EXPECT_EQ(*ci->password(), "pw");
  EXPECT_EQ(ci->without_password().find("pw"), std::string::npos);
}

TEST(ParseConninfo, BareWordIsADatabase) {
  auto ci = parse_conninfo("app");
  ASSERT_TRUE(ci.is_ok());
  EXPECT_EQ(ci->get("dbname"), "app");
  EXPECT_FALSE(ci->password());
}

TEST(ParseConninfo, MalformedIsOneLine) {
  auto ci = parse_conninfo("host=db1 nosuchoption=1");
  ASSERT_FALSE(ci.is_ok());
  EXPECT_EQ(ci.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ci.status().message().find('\n'), std::string::npos);
  EXPECT_NE(ci.status().message().find("nosuchoption"), std::string::npos);
}

TEST(ConnectError, Refused) {
  Status s = connect_error(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that "
      "host and accepting TCP/IP connections?\n",
      "127.0.0.1:1", "postgres", "app");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "cannot connect to PostgreSQL at 127.0.0.1:1: Connection refused: check that the server is running and "
            "the host and port in the DSN");
}

TEST(ConnectError, WrongPassword) {
  Status s = connect_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user "
      "\"app\"\n",
      "127.0.0.1:5432", "app", "app");
  EXPECT_EQ(s.code(), ErrorCode::kPermission);
  EXPECT_NE(s.message().find("refused the password for user \"app\""), std::string::npos);
  EXPECT_NE(s.message().find("PGPASSWORD"), std::string::npos);
}

TEST(ConnectError, NoPassword) {
  Status s = connect_error("connection to server at \"h\" (10.0.0.1), port 5432 failed: fe_sendauth: no password "
                           "supplied\n",
                           "h:5432", "app", "app");
  EXPECT_EQ(s.code(), ErrorCode::kPermission);
  EXPECT_NE(s.message().find("none was given"), std::string::npos);
}

TEST(ConnectError, MissingDatabase) {
  Status s = connect_error("connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: FATAL:  database \"nope\" "
                           "does not exist\n",
                           "socket /tmp port 5432", "postgres", "nope");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_NE(s.message().find("database \"nope\" does not exist"), std::string::npos);
}

TEST(DescribeWhere, HostAndSocket) {
  EXPECT_EQ(describe_where("db1", "5433"), "db1:5433");
  EXPECT_EQ(describe_where("/var/run/postgresql", "5432"), "socket /var/run/postgresql port 5432");
  EXPECT_EQ(describe_where(nullptr, nullptr), "localhost:5432");
}

TEST(ToolVersion, Parses) {
  std::string v;
  int major = 0;
  ASSERT_TRUE(parse_tool_version("pg_dump (PostgreSQL) 15.5 (Debian 15.5-0+deb12u1)\n", v, major));
  EXPECT_EQ(v, "15.5");
  EXPECT_EQ(major, 15);
  ASSERT_TRUE(parse_tool_version("pg_restore (PostgreSQL) 9.6.24\n", v, major));
  EXPECT_EQ(major, 906);
  ASSERT_TRUE(parse_tool_version("postgres (PostgreSQL) 17beta1\n", v, major));
  EXPECT_EQ(major, 17);
  EXPECT_FALSE(parse_tool_version("bash: pg_dump: command not found", v, major));
  EXPECT_EQ(major_of_version_num(150005), 15);
  EXPECT_EQ(major_of_version_num(90624), 906);
  EXPECT_EQ(major_name(906), "9.6");
  EXPECT_EQ(major_name(16), "16");
}

TEST(ToolErrorLine, FirstErrorLine) {
  EXPECT_EQ(tool_error_line("pg_restore: error: could not execute query: ERROR:  relation \"t\" already exists\n"
                            "Command was: CREATE TABLE public.t (\n    a integer\n);\n\n\n"),
            "pg_restore: error: could not execute query: ERROR: relation \"t\" already exists");
  EXPECT_EQ(tool_error_line("something\nlast words\n"), "last words");
  EXPECT_EQ(tool_error_line(""), "");
}

}  // namespace
}  // namespace lifeboat::sources::pg
