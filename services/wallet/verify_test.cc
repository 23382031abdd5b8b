// The heads digest (verify.h): what an outside copy of the journal's chain heads keeps, so its
// encoding must be exactly the documented one and must tell apart every change of a head.
#include "services/wallet/verify.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace qcash::wallet {
namespace {

std::string DigestOf(const std::vector<ChainHead>& heads) {
  HeadsDigest digest;
  for (const ChainHead& h : heads) digest.Add(h);
  return digest.Hex();
}

TEST(HeadsDigest, IsTheFingerprintOfTheTagAndEveryHead) {
  const std::string a(32, 'a'), b(32, '\0');
  HeadsDigest digest;
  digest.Add({"seller-1", 7, a});
  digest.Add({"販売者", 1, b});
  EXPECT_EQ(digest.sellers(), 2);
  EXPECT_EQ(digest.entries(), 8);
  Fingerprint expected;
  expected.Add("qcash-journal-heads-v1").Add("seller-1").Add(7).Add(a).Add("販売者").Add(1).Add(b);
  EXPECT_EQ(digest.Hex(), expected.Hex());
}

TEST(HeadsDigest, EmptyIsTheTagAlone) {
  Fingerprint tag;
  tag.Add("qcash-journal-heads-v1");
  EXPECT_EQ(DigestOf({}), tag.Hex());
  EXPECT_EQ(DigestOf({}).size(), 64u);
}

TEST(HeadsDigest, EveryChangeOfAHeadChangesIt) {
  const std::string h(32, 'h');
  std::string other = h;
  other[31] = 'i';
  const std::string base = DigestOf({{"s1", 3, h}, {"s2", 5, h}});
  EXPECT_NE(DigestOf({{"s1", 3, h}, {"s2", 5, other}}), base);  // a head
  EXPECT_NE(DigestOf({{"s1", 3, h}, {"s2", 6, h}}), base);      // a seq
  EXPECT_NE(DigestOf({{"s1", 3, h}}), base);                    // a seller gone
  EXPECT_NE(DigestOf({{"s2", 5, h}, {"s1", 3, h}}), base);      // the order
  EXPECT_NE(DigestOf({{"s", 13, h}, {"s2", 5, h}}), base);      // ids and seqs do not run together
  EXPECT_EQ(DigestOf({{"s1", 3, h}, {"s2", 5, h}}), base);
}

TEST(ChainFault, EveryFaultHasAName) {
  for (ChainFault f : {ChainFault::kHashNull, ChainFault::kHashMismatch, ChainFault::kMissingEntry,
                       ChainFault::kHeadMismatch, ChainFault::kWalletMissing}) {
    EXPECT_STRNE(ChainFaultName(f), "unknown");
  }
}

}  // namespace
}  // namespace qcash::wallet
