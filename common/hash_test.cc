#include "common/hash.h"

#include <gtest/gtest.h>

namespace qcash {
namespace {

TEST(HashTest, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, FieldBoundariesMatter) {
  EXPECT_NE(Fingerprint().Add("ab").Add("c").Hex(), Fingerprint().Add("a").Add("bc").Hex());
  EXPECT_NE(Fingerprint().Add(int64_t{1}).Hex(), Fingerprint().Add("1").Hex());
  EXPECT_EQ(Fingerprint().Add("x").Add(int64_t{5}).Hex(),
            Fingerprint().Add("x").Add(int64_t{5}).Hex());
}

}  // namespace
}  // namespace qcash
