#include "common/log.h"

#include <gtest/gtest.h>

namespace qcash {
namespace {

TEST(LogTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("line\nbreak"), "\"line\\u000abreak\"");
  EXPECT_EQ(JsonQuote("残高"), "\"残高\"");
}

TEST(LogTest, JsonQuoteReplacesInvalidUtf8) {
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(JsonQuote("\xe6\xae"), "\"\\ufffd\\ufffd\"");  // truncated sequence
}

}  // namespace
}  // namespace qcash
