#include "util/utf8.h"

#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat {
namespace {

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo"));            // é
  EXPECT_TRUE(is_valid_utf8("\xe6\x97\xa5\xe6\x9c\xac"));  // 日本
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));         // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));         // U+10FFFF
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
}

TEST(IsValidUtf8, RejectsMalformedSequences) {
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation byte
  EXPECT_FALSE(is_valid_utf8("ab\xc3"));            // truncated
  EXPECT_FALSE(is_valid_utf8("\xe6\x97"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xc3\x28"));          // bad continuation
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));
}

TEST(EscapeName, PassesPrintableUtf8Through) {
  EXPECT_EQ(escape_name("report 2024.pdf"), "report 2024.pdf");
  EXPECT_EQ(escape_name("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac"), "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac");
}

TEST(EscapeName, EscapesInvalidBytes) {
  EXPECT_EQ(escape_name("a\xff" "b"), "a\\xffb");
  EXPECT_EQ(escape_name("\xc3"), "\\xc3");
  EXPECT_EQ(escape_name("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(escape_name("latin1 caf\xe9"), "latin1 caf\\xe9");
}

TEST(EscapeName, EscapesControlCharactersAndBackslash) {
  EXPECT_EQ(escape_name("line\nbreak"), "line\\nbreak");
  EXPECT_EQ(escape_name("tab\there"), "tab\\there");
  EXPECT_EQ(escape_name("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_name("\x01"), "\\x01");
  EXPECT_EQ(escape_name("\r"), "\\x0d");
  EXPECT_EQ(escape_name("\x7f"), "\\x7f");
  EXPECT_EQ(escape_name(std::string("nul\0", 4)), "nul\\x00");
}

// Escaped names are one printable UTF-8 line, and distinct names stay
// distinct (a literal "\xff" does not collide with the byte 0xff).
TEST(EscapeName, OutputIsValidSingleLineAndInjective) {
  EXPECT_NE(escape_name("\xff"), escape_name("\\xff"));
  EXPECT_NE(escape_name("\n"), escape_name("\\n"));
  uint64_t seed = testing::test_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  std::set<std::string> inputs, outputs;
  const char alphabet[] = {'a', '\\', 'x', 'f', '\n', '\t', '\x7f', '\xc3', '\xa9', '\xff', '\x80', '\xe6'};
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 6, '\0');
    for (auto& c : s) c = alphabet[rng() % sizeof alphabet];
    std::string e = escape_name(s);
    EXPECT_TRUE(is_valid_utf8(e)) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    if (inputs.insert(s).second) {
      EXPECT_TRUE(outputs.insert(e).second) << "collision on " << e;
    }
  }
}

// C1 control characters (U+0080..U+009F) are valid UTF-8 but control a
// terminal like their C0 cousins: U+009B is CSI, which starts an escape
// sequence, U+0085 is NEXT LINE. A name "safe to print on one line" must not
// carry them raw.
TEST(EscapeName, EscapesC1ControlCharacters) {
  for (const char* raw : {"\xc2\x9b" "31m", "a\xc2\x85" "b", "\xc2\x80"}) {
    std::string e = escape_name(raw);
    EXPECT_TRUE(is_valid_utf8(e));
    for (unsigned char c = 0x80; c <= 0x9f; ++c) {
      std::string seq = {'\xc2', static_cast<char>(c)};
      EXPECT_EQ(e.find(seq), std::string::npos) << "U+00" << std::hex << int(c) << " passed through: output bytes " << hex_encode(as_bytes(e));
    }
  }
  EXPECT_EQ(escape_name("\xc2\xa0"), "\xc2\xa0") << "U+00A0 (no-break space) is printable";
}

}  // namespace
}  // namespace lifeboat
