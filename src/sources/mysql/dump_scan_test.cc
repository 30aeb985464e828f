#include "sources/mysql/dump_scan.h"

#include <gtest/gtest.h>

#include "sources/mysql/mysql_client.h"

namespace lifeboat::sources::mysql {
namespace {

// The shape of mariadb-dump 10.11 output (--databases, --routines,
// --events, --triggers, --hex-blob), with the awkward cases in it.
const char* kDump = R"SQL(/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------
-- Server version	10.11.19-MariaDB-0+deb12u1

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

--
-- Current Database: `shop`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET latin1 */;

USE `shop`;

--
-- Table structure for table `orders`
--

DROP TABLE IF EXISTS `orders`;
CREATE TABLE `orders` (
  `id` int(11) NOT NULL,
  `note` varchar(200) DEFAULT NULL COMMENT 'free text; may hold (parens)',
  `blob` blob DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

LOCK TABLES `orders` WRITE;
/*!40000 ALTER TABLE `orders` DISABLE KEYS */;
INSERT INTO `orders` VALUES
(1,'it\'s (one); two',0x00FF),
(2,'back\\slash\\',NULL),
(3,'a ''quoted'' \"word\" and a `tick`',0x28);
INSERT INTO `orders` VALUES (4,'VALUES (5)',NULL),(5,'',NULL);
/*!40000 ALTER TABLE `orders` ENABLE KEYS */;
UNLOCK TABLES;

DROP TABLE IF EXISTS `empty ``odd`` name`;
CREATE TABLE `empty ``odd`` name` (
  `a` int(11) DEFAULT NULL
) ENGINE=InnoDB;

/*!50001 DROP VIEW IF EXISTS `v`*/;
/*!50001 CREATE VIEW `v` AS SELECT 1 AS `id` */;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON `orders` FOR EACH ROW
BEGIN
INSERT INTO `orders` VALUES (99,'from a trigger',NULL);
END */;;
DELIMITER ;

--
-- Current Database: `other`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `other`;

USE `other`;
CREATE TABLE `t` (`x` int);
INSERT INTO `t` VALUES (1),(2),(3);
DELIMITER ;;
CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()
BEGIN
INSERT INTO `t` VALUES (4);
END ;;
DELIMITER ;

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `nothing`;

-- Dump completed
)SQL";

void check(const DumpStats& s) {
  EXPECT_EQ(s.server_version, "10.11.19-MariaDB-0+deb12u1");
  EXPECT_EQ(s.dump_header, "MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)");
  EXPECT_TRUE(s.completed);
  ASSERT_EQ(s.tables.size(), 3u);
  const auto& shop = s.tables.at("shop");
  ASSERT_EQ(shop.size(), 2u);
  EXPECT_EQ(shop.at("orders"), 5u);
  EXPECT_EQ(shop.at("empty `odd` name"), 0u);
  EXPECT_EQ(s.tables.at("other").at("t"), 3u);
  EXPECT_TRUE(s.tables.at("nothing").empty());
  EXPECT_EQ(s.total_rows(), 8u);
}

TEST(SqlDumpScanner, CountsRowsPerTable) {
  SqlDumpScanner scan;
  std::string_view d = kDump;
  scan.feed(ByteSpan(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
  check(scan.finish());
}

TEST(SqlDumpScanner, SameCountsFedByteByByte) {
  SqlDumpScanner scan;
  std::string_view d = kDump;
  for (char c : d) scan.feed(ByteSpan(reinterpret_cast<const uint8_t*>(&c), 1));
  check(scan.finish());
}

TEST(SqlDumpScanner, TruncatedDumpIsNotCompleted) {
  SqlDumpScanner scan;
  std::string_view d = kDump;
  d = d.substr(0, d.find("-- Dump completed"));
  scan.feed(ByteSpan(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
  EXPECT_FALSE(scan.finish().completed);
}

TEST(MysqlClient, QuotingAndConnectionArguments) {
  EXPECT_EQ(quote_identifier("a`b"), "`a``b`");
  EXPECT_EQ(quote_string("it's \\"), "'it\\'s \\\\'");
  MysqlConnection c;
  c.port = 3307;
  c.user = "backup";
  c.defaults_file = "/etc/lb.cnf";
  auto a = c.args();
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.front(), "--defaults-file=/etc/lb.cnf");
  EXPECT_NE(std::find(a.begin(), a.end(), "--protocol=TCP"), a.end());
  EXPECT_EQ(c.display(), "localhost:3307");
  c.no_defaults = true;
  EXPECT_EQ(c.args().front(), "--no-defaults");
}

TEST(MysqlClient, ExplainsCommonFailures) {
  MysqlConnection c;
  c.host = "db1";
  auto denied = explain_error(
      Status(ErrorCode::kIo, "mariadb-dump exited with code 2: mariadb-dump: Got error: 1045: \"Access denied for "
                             "user 'x'@'y' (using password: YES)\" when trying to connect"),
      c);
  EXPECT_EQ(denied.code(), ErrorCode::kPermission);
  EXPECT_NE(denied.message().find("MYSQL_PWD"), std::string::npos);
  auto down = explain_error(Status(ErrorCode::kIo, "mariadb exited with code 1: ERROR 2002 (HY000): Can't connect"), c);
  EXPECT_EQ(down.code(), ErrorCode::kUnavailable);
  EXPECT_NE(down.message().find("db1:3306"), std::string::npos);
  auto other = explain_error(Status(ErrorCode::kIo, "something else"), c);
  EXPECT_EQ(other.message(), "something else");
}

}  // namespace
}  // namespace lifeboat::sources::mysql
