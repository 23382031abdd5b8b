// The receipt and statement documents, read back the way a person or an accountant's tool
// would: poppler-utils (pdfinfo for pages and size, pdftotext for the words, pdffonts for the
// embedded fonts, pdftoppm for the picture). poppler-utils missing is a failure, not a skip.
// The PDFs and their pages as PNG stay in QCASH_DOCUMENTS_ARTIFACTS (build tree) for people
// to look at.
#include "gateway/documents/documents.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace qcash::gateway {
namespace {

absl::Time Jst(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::FixedTimeZone(9 * 3600));
}

std::string ArtifactsDir() {
  std::string dir = QCASH_DOCUMENTS_ARTIFACTS;
  std::filesystem::create_directories(dir);
  return dir;
}

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command and returns its exit code and standard output.
Output Shell(const std::string& command) {
  Output result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  std::string path = ArtifactsDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

struct PdfInfo {
  int pages = 0;
  std::string page_size;
};

PdfInfo Info(const std::string& path) {
  const Output o = Shell("pdfinfo '" + path + "'");
  EXPECT_EQ(o.exit_code, 0) << "pdfinfo (poppler-utils) must be installed: " << o.out;
  PdfInfo info;
  for (absl::string_view line : absl::StrSplit(o.out, '\n')) {
    if (absl::ConsumePrefix(&line, "Pages:")) {
      EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &info.pages)) << line;
    } else if (absl::ConsumePrefix(&line, "Page size:")) {
      info.page_size = std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return info;
}

std::string Text(const std::string& path) {
  const Output o = Shell("pdftotext -layout -enc UTF-8 '" + path + "' -");
  EXPECT_EQ(o.exit_code, 0) << "pdftotext (poppler-utils) must be installed";
  return o.out;
}

// Every font of the document is embedded, and the text's fonts are the IPA fonts. cairo keeps
// the font's name for the subsets it embeds as TrueType; the IPA fonts have no bold face, so
// the bold text is drawn emboldened, which cairo embeds as outlines under its own name
// (CairoFont-n-m). documents.cc refuses to render when fontconfig has no IPA font at all.
void ExpectOnlyEmbeddedIpaFonts(const std::string& path) {
  const Output o = Shell("pdffonts '" + path + "'");
  ASSERT_EQ(o.exit_code, 0) << "pdffonts (poppler-utils) must be installed";
  std::vector<std::string> lines = absl::StrSplit(o.out, '\n', absl::SkipEmpty());
  ASSERT_GT(lines.size(), 2u) << o.out;  // two header lines, then one line a font
  int ipa = 0;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<absl::string_view> words = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    ASSERT_GE(words.size(), 5u) << lines[i];
    // The name is "ABCDEF+<font>" (a subset); emb is the fifth word from the end.
    EXPECT_TRUE(absl::StrContains(words[0], "+IPA") || absl::StrContains(words[0], "+CairoFont-"))
        << lines[i];
    ipa += absl::StrContains(words[0], "+IPA") ? 1 : 0;
    EXPECT_EQ(words[words.size() - 5], "yes") << "not embedded: " << lines[i];
  }
  EXPECT_GT(ipa, 0) << o.out;
}

// A grey image of one page (pdftoppm -gray writes PGM: "P5 width height 255" and the bytes).
struct Gray {
  int width = 0;
  int height = 0;
  std::string pixels;
  int At(int x, int y) const {
    return static_cast<unsigned char>(pixels[static_cast<size_t>(y) * width + x]);
  }
  // Pixels darker than mid grey in [x0, x1) x [y0, y1).
  int Dark(int x0, int y0, int x1, int y1) const {
    int n = 0;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) n += At(x, y) < 128 ? 1 : 0;
    }
    return n;
  }
};

Gray RenderGray(const std::string& pdf, int page, const std::string& prefix) {
  const Output o = Shell(absl::StrCat("pdftoppm -r 60 -gray -singlefile -f ", page, " -l ", page,
                                      " '", pdf, "' '", prefix, "'"));
  EXPECT_EQ(o.exit_code, 0) << "pdftoppm (poppler-utils) must be installed";
  std::ifstream in(prefix + ".pgm", std::ios::binary);
  std::string magic;
  int max = 0;
  Gray g;
  in >> magic >> g.width >> g.height >> max;
  in.get();  // the one whitespace after the header
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(max, 255);
  g.pixels.assign(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(g.pixels.size(), static_cast<size_t>(g.width) * g.height);
  return g;
}

// The pages as PNG for people to look at (a resolution the 8 pt table text is legible at).
void RenderPngs(const std::string& pdf, const std::string& prefix) {
  const Output o = Shell("pdftoppm -r 110 -png '" + pdf + "' '" + prefix + "'");
  EXPECT_EQ(o.exit_code, 0) << "pdftoppm (poppler-utils) must be installed";
}

// A4 at 60 dpi is 497 x 702 pixels; the page is not blank, not black, and the title band
// (`title_top`..`title_bottom` in points from the top) has ink in its middle.
void ExpectLooksLikeAPage(const Gray& g, double title_top_pt, double title_bottom_pt) {
  ASSERT_EQ(g.width, 497);
  ASSERT_EQ(g.height, 702);
  const int dark = g.Dark(0, 0, g.width, g.height);
  const int all = g.width * g.height;
  EXPECT_GT(dark, all / 200) << "a blank page";
  EXPECT_LT(dark, all / 3) << "a page mostly black";
  const int top = static_cast<int>(title_top_pt * 60 / 72);
  const int bottom = static_cast<int>(title_bottom_pt * 60 / 72);
  EXPECT_GT(g.Dark(g.width / 2 - 120, top, g.width / 2 + 120, bottom), 150)
      << "no title between " << top << " and " << bottom << " px";
  // The margins stay white: nothing overflows the page's edge.
  EXPECT_EQ(g.Dark(0, 0, 20, g.height), 0);
  EXPECT_EQ(g.Dark(g.width - 20, 0, g.width, g.height), 0);
}

Issuer TestIssuer() {
  return Issuer{"eBay Japan合同会社",
                "東京都千代田区丸の内一丁目9番2号 グラントウキョウサウスタワー", "T7000012050002"};
}

Receipt TestReceipt(int issue_number) {
  Receipt r;
  r.issuer = TestIssuer();
  r.seller_id = "seller-4711";
  r.receipt_number = "R-ord_01HX5Z";
  r.order_id = "ord_01HX5Z";
  r.issue_number = issue_number;
  r.issued_at = Jst(2026, 11, 30, 18, 30);
  r.paid_at = Jst(2026, 11, 2, 9, 15);
  r.amount_yen = 1234567;
  r.voucher_label = "Qキャッシュ(1000Qキャッシュのチャージ)";
  r.method_label = "銀行振込";
  return r;
}

constexpr const char* kProducts[] = {
    "共同購入",       "プラス展示-キーワード別", "プラス展示-カテゴリ別", "タイムセール掲載",
    "今日の特価掲載", "パワーランクアップ",      "Qspecialプレミアム",    "プレミアム展示",
};

// 120 lines over the month, one with a reference far too long for its cell.
Statement TestStatement(bool closed) {
  Statement s;
  s.issuer = TestIssuer();
  s.seller_id = "seller-4711";
  s.month = "2026-11";
  s.period_start = Jst(2026, 11, 1);
  s.period_end = Jst(2026, 12, 1);
  s.closed = closed;
  s.issued_at = closed ? s.period_end : Jst(2026, 11, 20, 12, 0);
  for (int i = 0; i < 120; ++i) {
    StatementLine l;
    l.entry_seq = 1000 + i;
    l.at = Jst(2026, 11, 1 + i / 5, 8 + i % 5, 7 * (i % 8));
    l.kind_label = i % 3 == 0 ? "広告承認（使用）" : "広告利用";
    l.product_label = kProducts[i % 8];
    l.reference = absl::StrCat("BK-2026-", 10000 + i);
    l.amount_yen = 1000 + 250 * i;
    l.free_yen = i % 4 == 0 ? 500 : 0;
    l.paid_yen = l.amount_yen - l.free_yen;
    s.lines.push_back(l);
  }
  s.lines[7].reference =
      "BK-VERY-LONG-REFERENCE-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789-THE-END";
  for (int p = 0; p < 8; ++p) {
    StatementProductTotal t;
    t.product_label = kProducts[p];
    for (const StatementLine& l : s.lines) {
      if (l.product_label == t.product_label) {
        ++t.lines;
        t.amount_yen += l.amount_yen;
        t.free_yen += l.free_yen;
      }
    }
    s.products.push_back(t);
    s.total_yen += t.amount_yen;
    s.free_yen += t.free_yen;
  }
  s.taxable_yen = s.total_yen - s.free_yen;
  s.tax_yen = s.taxable_yen * 10 / 110;
  return s;
}

// Checked by hand from the National Tax Agency's rule (法人番号の指定等に関する省令): the base
// is the twelve digits after the check digit; n counts from the lowest (rightmost) base digit,
// weight 1 for odd n and 2 for even n; check digit = 9 - (sum mod 9).
TEST(RegistrationNumberTest, AcceptsRealCorporateNumbers) {
  // 国税庁 7000012050002: base 000012050002, from the right 2x1 + 0x2 + 0x1 + 0x2 + 5x1 + 0x2
  // + 2x1 + 1x2 + 0 + 0 + 0 + 0 = 11; 11 mod 9 = 2; 9 - 2 = 7.
  EXPECT_TRUE(IsValidRegistrationNumber("T7000012050002"));
  // 内閣官房 2000012010019: 9x1 + 1x2 + 0 + 0 + 1x1 + 0 + 2x1 + 1x2 = 16; 16 mod 9 = 7; 9 - 7 = 2.
  EXPECT_TRUE(IsValidRegistrationNumber("T2000012010019"));
  // トヨタ自動車 1180301018771: 1 + 7x2 + 7 + 8x2 + 1 + 0 + 1 + 0 + 3 + 0 + 8 + 1x2 = 53;
  // 53 mod 9 = 8; 9 - 8 = 1.
  EXPECT_TRUE(IsValidRegistrationNumber("T1180301018771"));
  // A sum divisible by 9 gives the check digit 9 (never 0): base 000000000009 sums to 9.
  EXPECT_TRUE(IsValidRegistrationNumber("T9000000000009"));
  EXPECT_TRUE(IsValidRegistrationNumber("T9000000000000"));
}

TEST(RegistrationNumberTest, RejectsEverythingElse) {
  EXPECT_FALSE(IsValidRegistrationNumber("T7000012050003"));  // base changed
  EXPECT_FALSE(IsValidRegistrationNumber("T6000012050002"));  // check digit changed
  EXPECT_FALSE(IsValidRegistrationNumber("T0000000000009"));  // 0 is never a check digit
  EXPECT_FALSE(IsValidRegistrationNumber("T0000000000000"));
  EXPECT_FALSE(IsValidRegistrationNumber("T2000012010091"));   // two base digits swapped
  EXPECT_FALSE(IsValidRegistrationNumber("7000012050002"));    // no T
  EXPECT_FALSE(IsValidRegistrationNumber("t7000012050002"));   // lower-case t
  EXPECT_FALSE(IsValidRegistrationNumber("T700001205000"));    // 12 digits
  EXPECT_FALSE(IsValidRegistrationNumber("T70000120500020"));  // 14 digits
  EXPECT_FALSE(IsValidRegistrationNumber("T 7000012050002"));
  EXPECT_FALSE(IsValidRegistrationNumber("T7000012050002 "));
  EXPECT_FALSE(IsValidRegistrationNumber("T70000120500O2"));   // letter O
  EXPECT_FALSE(IsValidRegistrationNumber("T７000012050002"));  // a full-width digit
  EXPECT_FALSE(IsValidRegistrationNumber("T-7000012050002"));
  EXPECT_FALSE(IsValidRegistrationNumber(""));
  EXPECT_FALSE(IsValidRegistrationNumber("T"));
}

TEST(ReceiptPdfTest, OriginalHasEverythingAndNoReissueMark) {
  absl::StatusOr<std::string> pdf = RenderReceiptPdf(TestReceipt(1));
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("receipt.pdf", *pdf);
  const PdfInfo info = Info(path);
  EXPECT_EQ(info.pages, 1);
  EXPECT_TRUE(absl::StartsWith(info.page_size, "595.276 x 841.89 pts (A4)")) << info.page_size;
  ExpectOnlyEmbeddedIpaFonts(path);

  const std::string text = Text(path);
  for (const char* want : {"領収書",
                           "領収書番号",
                           "R-ord_01HX5Z",
                           "発行日",
                           "2026年11月30日",
                           "seller-4711",
                           "様",
                           "¥1,234,567-",
                           "但し",
                           "Qキャッシュ（前払式支払手段）のご購入代金として",
                           "上記正に領収いたしました",
                           "非課税",
                           "前払式支払手段",
                           "品目",
                           "Qキャッシュ(1000Qキャッシュのチャージ)",
                           "お支払い方法",
                           "銀行振込",
                           "お支払日",
                           "2026年11月02日",
                           "ord_01HX5Z",
                           "eBay Japan合同会社",
                           "東京都千代田区丸の内一丁目9番2号"}) {
    EXPECT_TRUE(absl::StrContains(text, want)) << "missing " << want << " in\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "再発行")) << text;
  EXPECT_FALSE(absl::StrContains(text, "取り消")) << text;
  // Not a qualified invoice (docs/INVOICES.md): no registration number, no tax rate, no 税込.
  EXPECT_FALSE(absl::StrContains(text, "T7000012050002"));
  EXPECT_FALSE(absl::StrContains(text, "登録番号"));
  EXPECT_FALSE(absl::StrContains(text, "税込"));
  EXPECT_FALSE(absl::StrContains(text, "10%"));
  // The title, its characters spaced out (pdftotext reads the gaps as spaces).
  EXPECT_TRUE(std::regex_search(text, std::regex("\n *領 +収 +書 *\n"))) << text;

  const Gray g = RenderGray(path, 1, ArtifactsDir() + "/receipt-gray");
  ExpectLooksLikeAPage(g, 100, 140);  // the title 領収書
  RenderPngs(path, ArtifactsDir() + "/receipt");
}

TEST(ReceiptPdfTest, ReissueIsMarkedWithItsCount) {
  Receipt receipt = TestReceipt(3);
  receipt.seller_name = "Qショップ";
  absl::StatusOr<std::string> pdf = RenderReceiptPdf(receipt);
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("receipt-reissue.pdf", *pdf);
  EXPECT_EQ(Info(path).pages, 1);
  const std::string text = Text(path);
  EXPECT_TRUE(absl::StrContains(text, "再発行（3回目）")) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("Qショップ（seller-4711） +様"))) << text;
  EXPECT_TRUE(absl::StrContains(text, "¥1,234,567-")) << text;
  const Gray g = RenderGray(path, 1, ArtifactsDir() + "/receipt-reissue-gray");
  ExpectLooksLikeAPage(g, 100, 140);
  // The mark's red frame in the top left corner.
  EXPECT_GT(g.Dark(40, 35, 160, 65), 60);
  RenderPngs(path, ArtifactsDir() + "/receipt-reissue");
}

// Issue 16: a payment the provider took back after the receipt's payment is noted under the
// amount, which stays the amount received.
TEST(ReceiptPdfTest, AReversedPaymentIsNotedUnderTheAmount) {
  Receipt receipt = TestReceipt(1);
  receipt.reversed_yen = 3'000;
  receipt.reversal_kinds = "チャージバック";
  absl::StatusOr<std::string> pdf = RenderReceiptPdf(receipt);
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("receipt-reversed.pdf", *pdf);
  EXPECT_EQ(Info(path).pages, 1);
  const std::string text = Text(path);
  EXPECT_TRUE(absl::StrContains(text, "このお支払いのうち 3,000円は、お支払い後に決済会社によって"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "取り消されました（チャージバック）。")) << text;
  EXPECT_TRUE(absl::StrContains(text, "¥1,234,567-")) << text;
  RenderPngs(path, ArtifactsDir() + "/receipt-reversed");
}

TEST(ReceiptPdfTest, RefusesNonsense) {
  Receipt r = TestReceipt(0);
  EXPECT_EQ(RenderReceiptPdf(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = TestReceipt(1);
  r.amount_yen = 0;
  EXPECT_EQ(RenderReceiptPdf(r).status().code(), absl::StatusCode::kInvalidArgument);
}

// The same input gives the same bytes; any change of input changes them. The dates in the
// document info are the document's own, not the clock's.
TEST(DocumentsDeterminismTest, SameInputSameBytes) {
  const absl::StatusOr<std::string> a = RenderReceiptPdf(TestReceipt(1));
  const absl::StatusOr<std::string> b = RenderReceiptPdf(TestReceipt(1));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b) << "two renderings of one receipt differ";
  // 18:30 JST (cairo 1.16 leaves out the "D:" in front; poppler reads the date all the same).
  EXPECT_TRUE(absl::StrContains(*a, "/CreationDate (20261130183000+09'00)") ||
              absl::StrContains(*a, "/CreationDate (D:20261130183000+09'00)"));
  EXPECT_TRUE(absl::StrContains(*a, "/ModDate (20261130183000+09'00)") ||
              absl::StrContains(*a, "/ModDate (D:20261130183000+09'00)"));
  EXPECT_FALSE(absl::StrContains(*a, "/ID")) << "a trailer /ID (random or time-based)";

  Receipt changed = TestReceipt(1);
  changed.amount_yen += 1;
  const absl::StatusOr<std::string> c = RenderReceiptPdf(changed);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(*a == *c);
  changed = TestReceipt(1);
  changed.issued_at += absl::Seconds(1);
  const absl::StatusOr<std::string> d = RenderReceiptPdf(changed);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(*a == *d);

  const absl::StatusOr<std::string> s1 = RenderStatementPdf(TestStatement(true));
  const absl::StatusOr<std::string> s2 = RenderStatementPdf(TestStatement(true));
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_TRUE(*s1 == *s2) << "two renderings of one statement differ";
  Statement other = TestStatement(true);
  other.lines[100].reference = "BK-2026-99999";
  const absl::StatusOr<std::string> s3 = RenderStatementPdf(other);
  ASSERT_TRUE(s3.ok());
  EXPECT_FALSE(*s1 == *s3);
}

// The gateway renders on its worker threads, several documents at once: each rendering has
// its own cairo surface and pango font map, so concurrent ones give the same bytes as one alone.
TEST(DocumentsDeterminismTest, ConcurrentRenderingsGiveTheSameBytes) {
  const absl::StatusOr<std::string> receipt = RenderReceiptPdf(TestReceipt(2));
  const absl::StatusOr<std::string> statement = RenderStatementPdf(TestStatement(false));
  ASSERT_TRUE(receipt.ok() && statement.ok());
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&got, i] {
      absl::StatusOr<std::string> pdf =
          i % 2 == 0 ? RenderReceiptPdf(TestReceipt(2)) : RenderStatementPdf(TestStatement(false));
      got[i] = pdf.ok() ? *std::move(pdf) : pdf.status().ToString();
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == (i % 2 == 0 ? *receipt : *statement)) << "thread " << i;
  }
}

TEST(StatementPdfTest, ClosedMonthOverSeveralPages) {
  const Statement s = TestStatement(true);
  absl::StatusOr<std::string> pdf = RenderStatementPdf(s);
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("statement.pdf", *pdf);
  const PdfInfo info = Info(path);
  EXPECT_GE(info.pages, 3);
  EXPECT_TRUE(absl::StartsWith(info.page_size, "595.276 x 841.89 pts (A4)")) << info.page_size;
  ExpectOnlyEmbeddedIpaFonts(path);

  const std::string text = Text(path);
  for (const std::string& want : std::vector<std::string>{"Qキャッシュ広告利用明細書 兼 適格請求書",
                                                          "eBay Japan合同会社",
                                                          "登録番号",
                                                          "T7000012050002",
                                                          "seller-4711",
                                                          "2026年11月01日〜2026年11月30日",
                                                          "発行日",
                                                          "2026年12月01日",
                                                          "広告利用額合計",
                                                          "ポイント交換Qキャッシュによる値引き",
                                                          "10%対象（税込）",
                                                          "消費税額(10%)",
                                                          absl::StrCat("¥", "1,905,000"),
                                                          "-¥15,000",
                                                          "¥1,890,000",
                                                          "¥171,818",
                                                          "広告商品別の合計",
                                                          "タイムセール掲載",
                                                          "Qspecialプレミアム",
                                                          "プラス展示-キーワード別",
                                                          "30,750",
                                                          "予約番号",
                                                          "広告承認（使用）"}) {
    EXPECT_TRUE(absl::StrContains(text, want)) << "missing " << want;
  }
  EXPECT_FALSE(absl::StrContains(text, "速報"));

  // Every line's reference. The long one is ellipsized in its cell, but cairo maps the "…"
  // glyph to the text it stands for, so the whole reference is still found and copied.
  for (const StatementLine& l : s.lines) {
    EXPECT_TRUE(absl::StrContains(text, l.reference)) << "missing line " << l.reference;
  }
  // Where it is drawn: it ends inside the 予約番号 column (whose right edge is 40 + 90 + 70 +
  // 96 + 129.276 = 425.276 pt from the left), before the amount column.
  const Output boxes = Shell("pdftotext -bbox -f 1 -l 1 '" + path + "' -");
  ASSERT_EQ(boxes.exit_code, 0);
  const size_t word = boxes.out.find("BK-VERY-LONG-REFERENCE");
  ASSERT_NE(word, std::string::npos);
  const size_t x_max = boxes.out.rfind("xMax=\"", word);
  ASSERT_NE(x_max, std::string::npos);
  double right = 0;
  ASSERT_TRUE(absl::SimpleAtod(
      boxes.out.substr(x_max + 6, boxes.out.find('"', x_max + 6) - x_max - 6), &right));
  EXPECT_GT(right, 300);
  EXPECT_LT(right, 425.276) << "the long reference runs out of its cell";
  // The last line's amount with its separator: 1000 + 250 x 119.
  EXPECT_TRUE(absl::StrContains(text, "30,750"));
  // After the last line, their sum (the total of page 1) on the last page.
  EXPECT_TRUE(absl::StrContains(text, "明細の合計（120件）"));

  // Each page: the table header again and its number of the total.
  std::vector<std::string> pages = absl::StrSplit(text, '\f', absl::SkipEmpty());
  ASSERT_EQ(pages.size(), static_cast<size_t>(info.pages));
  for (int p = 0; p < info.pages; ++p) {
    EXPECT_TRUE(absl::StrContains(pages[p], "予約番号")) << "page " << p + 1;
    EXPECT_TRUE(absl::StrContains(pages[p], "うち無償分")) << "page " << p + 1;
    EXPECT_TRUE(absl::StrContains(pages[p], absl::StrCat(p + 1, " / ", info.pages, " ページ")))
        << "page " << p + 1;
  }

  const Gray first = RenderGray(path, 1, ArtifactsDir() + "/statement-gray-1");
  ExpectLooksLikeAPage(first, 40, 62);  // the title
  EXPECT_TRUE(absl::StrContains(pages.back(), "明細の合計（120件）"));
  EXPECT_TRUE(absl::StrContains(pages.back(), "1,905,000"));
  const Gray last = RenderGray(path, info.pages, ArtifactsDir() + "/statement-gray-last");
  EXPECT_GT(last.Dark(0, 0, last.width, last.height), 1000) << "an empty last page";
  RenderPngs(path, ArtifactsDir() + "/statement");
}

TEST(StatementPdfTest, OpenMonthIsMarkedPreliminary) {
  absl::StatusOr<std::string> pdf = RenderStatementPdf(TestStatement(false));
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("statement-open.pdf", *pdf);
  const std::string text = Text(path);
  EXPECT_TRUE(absl::StrContains(text, "速報（月途中）")) << text;
  // The month still open: its statement is no qualified invoice, and says so.
  EXPECT_FALSE(absl::StrContains(text, "Qキャッシュ広告利用明細書 兼 適格請求書")) << text;
  EXPECT_TRUE(absl::StrContains(text, "適格請求書ではありません")) << text;
  EXPECT_TRUE(absl::StrContains(text, "2026年11月20日"));  // issued now, mid-month
  const Gray first = RenderGray(path, 1, ArtifactsDir() + "/statement-open-gray-1");
  ExpectLooksLikeAPage(first, 40, 62);
  RenderPngs(path, ArtifactsDir() + "/statement-open");
}

TEST(StatementPdfTest, EmptyMonthIsOnePage) {
  Statement s = TestStatement(true);
  s.lines.clear();
  s.products.clear();
  s.total_yen = s.free_yen = s.taxable_yen = s.tax_yen = 0;
  absl::StatusOr<std::string> pdf = RenderStatementPdf(s);
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("statement-empty.pdf", *pdf);
  EXPECT_EQ(Info(path).pages, 1);
  const std::string text = Text(path);
  EXPECT_TRUE(absl::StrContains(text, "この期間のご利用はありません")) << text;
  EXPECT_TRUE(absl::StrContains(text, "1 / 1 ページ"));
  EXPECT_TRUE(absl::StrContains(text, "¥0"));
}

// Around the page breaks (18 rows fit under the invoice part of page 1, 46 on a later page;
// the rows are the lines and then their total): the footers count the pages pdfinfo counts,
// and the total row comes after the last line (on a page of its own when the lines just fill
// the one before). RenderStatementPdf itself refuses a document
// whose drawn pages differ from the numbered ones.
TEST(StatementPdfTest, PageBreaks) {
  for (size_t lines : {1, 17, 18, 19, 63, 64, 65}) {
    Statement s = TestStatement(true);
    s.lines.resize(lines);
    absl::StatusOr<std::string> pdf = RenderStatementPdf(s);
    ASSERT_TRUE(pdf.ok()) << lines << " lines: " << pdf.status();
    const std::string path = WriteFile(absl::StrCat("statement-", lines, "-lines.pdf"), *pdf);
    const int pages = Info(path).pages;
    EXPECT_EQ(pages, lines < 18 ? 1 : lines < 64 ? 2 : 3) << lines << " lines";
    std::vector<std::string> texts = absl::StrSplit(Text(path), '\f', absl::SkipEmpty());
    ASSERT_EQ(texts.size(), static_cast<size_t>(pages));
    EXPECT_TRUE(absl::StrContains(texts.back(), absl::StrCat(pages, " / ", pages, " ページ")));
    const std::string total = absl::StrCat("明細の合計（", lines, "件）");
    EXPECT_TRUE(absl::StrContains(texts.back(), total)) << lines << " lines";
    const std::string all = absl::StrJoin(texts, "\f");
    const size_t last_line = all.find(s.lines.back().reference);
    ASSERT_NE(last_line, std::string::npos) << lines << " lines";
    EXPECT_LT(last_line, all.find(total)) << lines << " lines";
  }
}

// Whatever a seller id or a booking reference holds, the document renders: invalid UTF-8 is
// replaced, line breaks become spaces, and a text too long for its place is cut short.
TEST(StatementPdfTest, HostileTextStaysInItsPlace) {
  Statement s = TestStatement(true);
  s.lines.resize(3);
  s.seller_id = "seller\n\xff\xfe<b>&amp;";
  s.lines[0].reference = "BK-1\r\nBK-2";
  s.lines[1].reference = std::string(5000, 'W');
  s.lines[2].product_label = "\x1b[31m" + std::string(300, 'x');
  s.issuer.address = std::string(2000, 'A');
  absl::StatusOr<std::string> pdf = RenderStatementPdf(s);
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  const std::string path = WriteFile("statement-hostile.pdf", *pdf);
  EXPECT_EQ(Info(path).pages, 1);
  const std::string text = Text(path);
  EXPECT_TRUE(absl::StrContains(text, "BK-1 BK-2")) << text;
  EXPECT_TRUE(absl::StrContains(text, "<b>&amp;")) << "not read as markup";
  EXPECT_TRUE(std::regex_search(text, std::regex("<b>&amp; +様"))) << "the honorific was cut off";
  const Gray g = RenderGray(path, 1, ArtifactsDir() + "/statement-hostile-gray");
  ExpectLooksLikeAPage(g, 40, 62);

  Receipt r = TestReceipt(2);
  r.seller_id = std::string(3000, 'S');
  r.voucher_label = "\xc3\x28 broken";
  absl::StatusOr<std::string> receipt = RenderReceiptPdf(r);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const std::string receipt_path = WriteFile("receipt-hostile.pdf", *receipt);
  EXPECT_EQ(Info(receipt_path).pages, 1);
  EXPECT_TRUE(absl::StrContains(Text(receipt_path), "様")) << "the honorific was cut off";
  ExpectLooksLikeAPage(RenderGray(receipt_path, 1, ArtifactsDir() + "/receipt-hostile-gray"), 100,
                       140);
}

TEST(StatementPdfTest, RefusesAnInvalidRegistrationNumberAndTooManyLines) {
  Statement s = TestStatement(true);
  s.issuer.registration_number = "T7000012050003";
  EXPECT_EQ(RenderStatementPdf(s).status().code(), absl::StatusCode::kFailedPrecondition);
  s = TestStatement(true);
  s.lines.resize(10001, s.lines[0]);
  EXPECT_EQ(RenderStatementPdf(s).status().code(), absl::StatusCode::kInvalidArgument);
  s = TestStatement(true);
  s.period_end = s.period_start;
  EXPECT_EQ(RenderStatementPdf(s).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatementCsvTest, BomCrlfQuotingAndNoFormulas) {
  Statement s = TestStatement(true);
  s.lines.resize(4);
  s.lines[0].reference = "BK,\"1\"";
  s.lines[1].reference = "=HYPERLINK(\"http://x\",\"y\")";
  s.lines[2].reference = "-5+3";
  s.lines[2].amount_yen = -300;  // a number stays a number, negative or not
  s.lines[3].reference = "@SUM(A1)";
  s.lines[3].kind_label = "+広告利用";
  s.total_yen = 5750;
  s.free_yen = 1000;
  s.taxable_yen = 4750;
  s.tax_yen = 431;
  const std::string csv = RenderStatementCsv(s);
  ASSERT_TRUE(absl::StartsWith(csv, "\xEF\xBB\xBF"));
  ASSERT_TRUE(absl::EndsWith(csv, "\r\n"));
  std::vector<std::string> rows = absl::StrSplit(csv.substr(3), "\r\n");
  rows.pop_back();  // after the last CRLF
  ASSERT_EQ(rows.size(), 1u + 4u + 4u);
  for (const std::string& row : rows) EXPECT_FALSE(absl::StrContains(row, "\n")) << row;
  EXPECT_EQ(rows[0], "日時,種類,広告商品,予約番号,金額（税込）,うち有償分,うち無償分,明細番号");
  EXPECT_EQ(rows[1],
            "2026/11/01 08:00:00,広告承認（使用）,共同購入,\"BK,\"\"1\"\"\",1000,500,500,1000");
  EXPECT_EQ(rows[2],
            "2026/11/01 09:07:00,広告利用,プラス展示-キーワード別,"
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1250,1250,0,1001");
  EXPECT_EQ(rows[3], "2026/11/01 10:14:00,広告利用,プラス展示-カテゴリ別,'-5+3,-300,1500,0,1002");
  EXPECT_EQ(rows[4], "2026/11/01 11:21:00,'+広告利用,タイムセール掲載,'@SUM(A1),1750,1750,0,1003");
  EXPECT_EQ(rows[5], "広告利用額合計,,,,5750,,,");
  EXPECT_EQ(rows[6], "ポイント交換Qキャッシュによる値引き,,,,-1000,,,");
  EXPECT_EQ(rows[7], "10%対象（税込）,,,,4750,,,");
  EXPECT_EQ(rows[8], "消費税額(10%),,,,431,,,");
  EXPECT_EQ(RenderStatementCsv(s), csv);
}

}  // namespace
}  // namespace qcash::gateway
