// The receipt and the statement as PDF (cairo's PDF surface, text laid out by pango with the
// IPA fonts) and the statement as CSV. See documents.h for what each document holds.
//
// Determinism: cairo writes the creation and modification dates of the document info; both
// are set from the document's own issued_at, so nothing depends on the clock. The font subset
// names cairo writes are derived from the glyphs used, and cairo 1.16 writes no trailer /ID;
// documents_test renders twice and compares the bytes. Glyph positions are not rounded to a
// device grid (hinting off) so the layout is the same whatever the output.
#include "gateway/documents/documents.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace qcash::gateway {
namespace {

// Bounds: a statement of more lines than kStatementPdfLinesMax is refused, which bounds a
// rendering's time and size (10,000 lines: some 1.5 s of one core and 480 KB, 220 pages, on the
// development machine); the wallet's month has far fewer for any real seller. The eight ad
// products fit the first page's table with room to spare.
constexpr size_t kStatementLinesMax = kStatementPdfLinesMax;
constexpr size_t kStatementProductsMax = 16;
// A text longer than this is cut before layout (it is ellipsized to its cell anyway).
constexpr size_t kTextCharsMax = 256;
// CSV fields are cut at this many bytes (on a character boundary).
constexpr size_t kCsvFieldBytesMax = 1024;

// A4 portrait in PDF points (1/72 inch).
constexpr double kPageWidth = 595.276;
constexpr double kPageHeight = 841.890;
constexpr double kMargin = 40.0;
constexpr double kContentWidth = kPageWidth - 2 * kMargin;

// Families as fontconfig knows them (fonts-ipafont-gothic, fonts-ipafont-mincho).
constexpr char kGothic[] = "IPAPGothic,IPAGothic";
constexpr char kMincho[] = "IPAMincho,IPAPMincho";

absl::TimeZone Jst() { return absl::FixedTimeZone(9 * 3600); }

std::string JstDate(absl::Time t) { return absl::FormatTime("%Y年%m月%d日", t, Jst()); }

// "1,234,567" (and "-1,234" for a negative amount).
std::string GroupDigits(int64_t yen) {
  // The magnitude as unsigned: INT64_MIN has no positive int64_t.
  uint64_t magnitude = yen < 0 ? 0 - static_cast<uint64_t>(yen) : static_cast<uint64_t>(yen);
  std::string digits = absl::StrCat(magnitude);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3 + 1);
  if (yen < 0) out.push_back('-');
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Yen(int64_t yen) {
  return yen < 0 ? absl::StrCat("-¥", GroupDigits(yen).substr(1))
                 : absl::StrCat("¥", GroupDigits(yen));
}

// Valid UTF-8 with control characters as spaces, at most `chars_max` characters: pango refuses
// invalid UTF-8, and a newline in a booking reference must not break a table row.
std::string CleanText(absl::string_view text, size_t chars_max) {
  gchar* valid = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
  std::string out;
  size_t chars = 0;
  for (const gchar* p = valid; *p != '\0' && chars < chars_max; p = g_utf8_next_char(p), ++chars) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_iscntrl(c)) {
      out.push_back(' ');
    } else {
      out.append(p, static_cast<size_t>(g_utf8_next_char(p) - p));
    }
  }
  g_free(valid);
  return out;
}

struct FontDescriptionFree {
  void operator()(PangoFontDescription* d) const { pango_font_description_free(d); }
};
using Font = std::unique_ptr<PangoFontDescription, FontDescriptionFree>;

Font MakeFont(const char* families, double size_pt, bool bold = false) {
  Font font(pango_font_description_from_string(families));
  pango_font_description_set_absolute_size(font.get(), size_pt * PANGO_SCALE);
  if (bold) pango_font_description_set_weight(font.get(), PANGO_WEIGHT_BOLD);
  return font;
}

enum class Align { kLeft, kCenter, kRight };

struct Color {
  double r, g, b;
};
constexpr Color kBlack{0, 0, 0};
constexpr Color kGray{0.35, 0.35, 0.35};
constexpr Color kRule{0.55, 0.55, 0.55};
constexpr Color kShade{0.91, 0.92, 0.94};
constexpr Color kMark{0.72, 0.05, 0.05};

// One PDF being drawn: the cairo surface writing into `bytes`, and the pango context all text
// is laid out with.
class Pdf {
 public:
  Pdf(absl::Time issued_at, absl::string_view title, absl::string_view author) {
    surface_ = cairo_pdf_surface_create_for_stream(&Pdf::Write, &bytes_, kPageWidth, kPageHeight);
    cairo_pdf_surface_restrict_to_version(surface_, CAIRO_PDF_VERSION_1_5);
    // The document info from the document itself, never from the clock (see the file comment).
    const std::string date = absl::FormatTime("%Y-%m-%dT%H:%M:%S+09:00", issued_at, Jst());
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_CREATE_DATE, date.c_str());
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_MOD_DATE, date.c_str());
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_TITLE,
                                   CleanText(title, kTextCharsMax).c_str());
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_AUTHOR,
                                   CleanText(author, kTextCharsMax).c_str());
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_CREATOR, "Qcash");
    cr_ = cairo_create(surface_);
    // A font map of this document's own rather than pango's per-thread default: nothing is
    // shared with another rendering (thread or earlier document), and everything it loads is
    // released with the document.
    font_map_ = pango_cairo_font_map_new();
    pango_ = pango_font_map_create_context(font_map_);
    pango_cairo_update_context(cr_, pango_);
    cairo_font_options_t* options = cairo_font_options_create();
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(pango_, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(pango_, FALSE);
  }
  ~Pdf() {
    g_object_unref(pango_);
    g_object_unref(font_map_);
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  Pdf(const Pdf&) = delete;
  Pdf& operator=(const Pdf&) = delete;

  // FAILED_PRECONDITION when fontconfig has no IPA font for `font`: the document would come
  // out in a substitute font, or as boxes where the Japanese should be.
  absl::Status CheckFont(const Font& font) {
    PangoFont* loaded = pango_context_load_font(pango_, font.get());
    if (loaded == nullptr) return absl::FailedPreconditionError("no font could be loaded");
    PangoFontDescription* got = pango_font_describe(loaded);
    const std::string family = pango_font_description_get_family(got);
    pango_font_description_free(got);
    g_object_unref(loaded);
    if (!absl::StartsWith(family, "IPA")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the IPA fonts are not installed (fonts-ipafont-gothic, fonts-ipafont-mincho); "
          "fontconfig offers ",
          family, " for ", pango_font_description_get_family(font.get())));
    }
    return absl::OkStatus();
  }

  // Draws `text` in a box at (x, y) of `width` (one line, ellipsized at the end when it does
  // not fit; width <= 0: no limit) and returns the height of the line.
  double Text(double x, double y, double width, absl::string_view text, const Font& font,
              Align align = Align::kLeft, Color color = kBlack) {
    PangoLayout* layout = Layout(text, font, width, align);
    SetColor(color);
    cairo_move_to(cr_, x, y);
    pango_cairo_show_layout(cr_, layout);
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    g_object_unref(layout);
    return static_cast<double>(h) / PANGO_SCALE;
  }

  // Text centred vertically in a cell, with padding on both sides.
  void Cell(double x, double y, double width, double height, absl::string_view text,
            const Font& font, Align align = Align::kLeft, Color color = kBlack) {
    constexpr double kPad = 3.0;
    PangoLayout* layout = Layout(text, font, width - 2 * kPad, align);
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    SetColor(color);
    cairo_move_to(cr_, x + kPad, y + (height - static_cast<double>(h) / PANGO_SCALE) / 2);
    pango_cairo_show_layout(cr_, layout);
    g_object_unref(layout);
  }

  // The width `text` takes, cut short to `width_max` (<= 0: no limit) as Text() would.
  double TextWidth(absl::string_view text, const Font& font, double width_max = 0) {
    PangoLayout* layout = Layout(text, font, width_max, Align::kLeft);
    // The line's own extent: the layout's is the box width once a width is set.
    PangoRectangle logical{};
    pango_layout_line_get_extents(pango_layout_get_line_readonly(layout, 0), nullptr, &logical);
    g_object_unref(layout);
    return static_cast<double>(logical.width) / PANGO_SCALE;
  }

  void Rule(double x1, double y1, double x2, double y2, double line_width = 0.5,
            Color color = kRule) {
    SetColor(color);
    cairo_set_line_width(cr_, line_width);
    cairo_move_to(cr_, x1, y1);
    cairo_line_to(cr_, x2, y2);
    cairo_stroke(cr_);
  }

  void Fill(double x, double y, double width, double height, Color color) {
    SetColor(color);
    cairo_rectangle(cr_, x, y, width, height);
    cairo_fill(cr_);
  }

  void Frame(double x, double y, double width, double height, double line_width, Color color) {
    SetColor(color);
    cairo_set_line_width(cr_, line_width);
    cairo_rectangle(cr_, x, y, width, height);
    cairo_stroke(cr_);
  }

  void NextPage() { cairo_show_page(cr_); }

  // Ends the document and returns its bytes; INTERNAL when cairo failed anywhere.
  absl::StatusOr<std::string> Finish() {
    cairo_show_page(cr_);
    cairo_surface_finish(surface_);
    const cairo_status_t status = cairo_surface_status(surface_);
    if (status != CAIRO_STATUS_SUCCESS) {
      return absl::InternalError(
          absl::StrCat("cairo could not write the PDF: ", cairo_status_to_string(status)));
    }
    return std::move(bytes_);
  }

 private:
  static cairo_status_t Write(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  }

  PangoLayout* Layout(absl::string_view text, const Font& font, double width, Align align) {
    PangoLayout* layout = pango_layout_new(pango_);
    pango_layout_set_font_description(layout, font.get());
    pango_layout_set_single_paragraph_mode(layout, TRUE);
    const std::string clean = CleanText(text, kTextCharsMax);
    pango_layout_set_text(layout, clean.data(), static_cast<int>(clean.size()));
    if (width > 0) {
      pango_layout_set_width(layout, static_cast<int>(width * PANGO_SCALE));
      pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    }
    switch (align) {
      case Align::kCenter:
        pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
        break;
      case Align::kRight:
        pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT);
        break;
      case Align::kLeft:
      default:
        pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT);
        break;
    }
    return layout;
  }

  void SetColor(Color c) { cairo_set_source_rgb(cr_, c.r, c.g, c.b); }

  std::string bytes_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  PangoFontMap* font_map_ = nullptr;
  PangoContext* pango_ = nullptr;
};

// The fonts every document uses, checked once per document.
struct Fonts {
  Font title = MakeFont(kMincho, 26, true);
  Font heading = MakeFont(kMincho, 17, true);
  Font mark = MakeFont(kGothic, 12, true);
  Font large = MakeFont(kGothic, 15);
  Font amount = MakeFont(kGothic, 26, true);
  Font body = MakeFont(kGothic, 10);
  Font body_bold = MakeFont(kGothic, 10, true);
  Font small = MakeFont(kGothic, 8.5);
  Font table = MakeFont(kGothic, 8);
  Font table_bold = MakeFont(kGothic, 8, true);

  absl::Status Check(Pdf& pdf) const {
    absl::Status status = pdf.CheckFont(body);
    if (status.ok()) status = pdf.CheckFont(title);
    return status;
  }
};

// The issuer's block: name, address and (on the invoice) the registration number, right
// aligned in [x, x + width]; returns the y below it.
double IssuerBlock(Pdf& pdf, const Fonts& fonts, const Issuer& issuer, double x, double y,
                   double width, bool with_registration_number) {
  y += pdf.Text(x, y, width, issuer.name, fonts.body_bold, Align::kRight) + 2;
  y += pdf.Text(x, y, width, issuer.address, fonts.small, Align::kRight) + 2;
  if (with_registration_number) {
    y += pdf.Text(x, y, width, absl::StrCat("登録番号 ", issuer.registration_number), fonts.small,
                  Align::kRight) +
         2;
  }
  return y;
}

// A row of the receipt's and the totals' label / value tables.
void LabelValueRow(Pdf& pdf, const Fonts& fonts, double x, double y, double label_width,
                   double width, double height, absl::string_view label, absl::string_view value,
                   Align value_align = Align::kLeft, bool bold = false) {
  pdf.Fill(x, y, label_width, height, kShade);
  pdf.Cell(x, y, label_width, height, label, fonts.body);
  pdf.Cell(x + label_width, y, width - label_width, height, value,
           bold ? fonts.body_bold : fonts.body, value_align);
  pdf.Rule(x, y + height, x + width, y + height);
}

// The recipient as printed: the shop's name with its id when the name is known, else the id.
std::string Recipient(absl::string_view seller_id, absl::string_view seller_name) {
  if (seller_name.empty()) return std::string(seller_id);
  return absl::StrCat(seller_name, "（", seller_id, "）");
}

// "<recipient>　様" underlined in [x, x + width]: a recipient too long for the line is cut
// short, never the 様. Returns the height of the line.
double Addressee(Pdf& pdf, const Fonts& fonts, double x, double y, double width,
                 absl::string_view recipient) {
  const std::string honorific = "　様";
  const double honorific_width = pdf.TextWidth(honorific, fonts.large);
  const double id_width = pdf.TextWidth(recipient, fonts.large, width - honorific_width - 1);
  const double height = pdf.Text(x, y, id_width + 1, recipient, fonts.large);
  pdf.Text(x + id_width, y, honorific_width + 1, honorific, fonts.large);
  pdf.Rule(x, y + height + 2, x + width, y + height + 2, 0.8, kBlack);
  return height;
}

}  // namespace

bool IsValidRegistrationNumber(absl::string_view number) {
  if (number.size() != 14 || number[0] != 'T') return false;
  for (size_t i = 1; i < number.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(number[i]))) return false;
  }
  // number[1] is the check digit; number[2..13] the base, whose lowest digit (n = 1) is last.
  int sum = 0;
  for (int n = 1; n <= 12; ++n) {
    const int digit = number[14 - n] - '0';
    sum += digit * (n % 2 == 1 ? 1 : 2);
  }
  return number[1] - '0' == 9 - sum % 9;
}

absl::StatusOr<std::string> RenderReceiptPdf(const Receipt& receipt) {
  if (receipt.issue_number < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("receipt issue number ", receipt.issue_number, " (the first is 1)"));
  }
  if (receipt.amount_yen <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("receipt amount ", receipt.amount_yen, " yen is not positive"));
  }
  Pdf pdf(receipt.issued_at, absl::StrCat("領収書 ", receipt.receipt_number), receipt.issuer.name);
  Fonts fonts;
  if (absl::Status status = fonts.Check(pdf); !status.ok()) return status;

  const double left = kMargin + 16;
  const double width = kContentWidth - 32;
  const double right = left + width;

  // Top right: number and date of this issue, and the reissue mark.
  double y = kMargin + 8;
  pdf.Text(left, y, width, absl::StrCat("領収書番号　", receipt.receipt_number), fonts.body,
           Align::kRight);
  y += 15;
  pdf.Text(left, y, width, absl::StrCat("発行日　", JstDate(receipt.issued_at)), fonts.body,
           Align::kRight);
  if (receipt.issue_number > 1) {
    const std::string mark = absl::StrCat("再発行（", receipt.issue_number, "回目）");
    const double mark_width = pdf.TextWidth(mark, fonts.mark) + 16;
    pdf.Frame(left, kMargin + 4, mark_width, 26, 1.5, kMark);
    pdf.Cell(left, kMargin + 4, mark_width, 26, mark, fonts.mark, Align::kCenter, kMark);
  }

  // Title.
  y = kMargin + 64;
  const double title_height = pdf.Text(left, y, width, "領　収　書", fonts.title, Align::kCenter);
  y += title_height + 4;
  pdf.Rule(kPageWidth / 2 - 90, y, kPageWidth / 2 + 90, y, 1.2, kBlack);
  pdf.Rule(kPageWidth / 2 - 90, y + 3, kPageWidth / 2 + 90, y + 3, 0.5, kBlack);

  // Addressee.
  y += 36;
  const double addressee_height = Addressee(pdf, fonts, left, y, width * 0.6,
                                            Recipient(receipt.seller_id, receipt.seller_name));

  // The amount.
  y += addressee_height + 30;
  const double box_width = 330;
  const double box_x = kPageWidth / 2 - box_width / 2;
  const double box_height = 56;
  pdf.Fill(box_x, y, box_width, box_height, kShade);
  pdf.Frame(box_x, y, box_width, box_height, 1.0, kBlack);
  pdf.Cell(box_x + 8, y, 60, box_height, "金額", fonts.large);
  pdf.Cell(box_x + 60, y, box_width - 76, box_height,
           absl::StrCat("¥", GroupDigits(receipt.amount_yen), "-"), fonts.amount, Align::kCenter);
  y += box_height + 16;

  // 但し書き and the acknowledgement.
  pdf.Text(left, y, width, "但し　Qキャッシュ（前払式支払手段）のご購入代金として", fonts.body,
           Align::kCenter);
  y += 18;
  pdf.Text(left, y, width, "上記正に領収いたしました。", fonts.body, Align::kCenter);
  y += 36;

  // The details.
  const double row_height = 24;
  const double label_width = 120;
  pdf.Rule(left, y, right, y);
  LabelValueRow(pdf, fonts, left, y, label_width, width, row_height, "品目", receipt.voucher_label);
  y += row_height;
  LabelValueRow(pdf, fonts, left, y, label_width, width, row_height, "お支払い方法",
                receipt.method_label);
  y += row_height;
  LabelValueRow(pdf, fonts, left, y, label_width, width, row_height, "お支払日",
                JstDate(receipt.paid_at));
  y += row_height;
  LabelValueRow(pdf, fonts, left, y, label_width, width, row_height, "ご注文番号",
                receipt.order_id);
  y += row_height;
  LabelValueRow(pdf, fonts, left, y, label_width, width, row_height, "領収金額",
                absl::StrCat(Yen(receipt.amount_yen), "（消費税 非課税）"));
  y += row_height + 10;
  if (receipt.reversed_yen > 0) {
    y += pdf.Text(left, y, width,
                  absl::StrCat("※ このお支払いのうち ", GroupDigits(receipt.reversed_yen), "円",
                               "は、お支払い後に決済会社によって取り消されました",
                               receipt.reversal_kinds.empty()
                                   ? ""
                                   : absl::StrCat("（", receipt.reversal_kinds, "）"),
                               "。"),
                  fonts.small, Align::kLeft, kMark) +
         4;
  }
  pdf.Text(left, y, width,
           "※ 前払式支払手段（Qキャッシュ）の購入は非課税取引のため、消費税は含まれません。",
           fonts.small, Align::kLeft, kGray);
  y += 14;
  pdf.Text(left, y, width,
           "※ 広告のご利用分の適格請求書は、月ごとの「Qキャッシュ広告利用明細書 兼 "
           "適格請求書」で発行します。",
           fonts.small, Align::kLeft, kGray);
  y += 14;
  if (receipt.issue_number > 1) {
    pdf.Text(left, y, width,
             absl::StrCat("※ 本書は再発行（", receipt.issue_number,
                          "回目）です。先に発行した領収書と重複して計上しないようご注意ください。"),
             fonts.small, Align::kLeft, kMark);
    y += 14;
  }

  // The issuer, bottom right.
  y += 40;
  // No registration number: the receipt is no qualified invoice (docs/INVOICES.md), and a
  // number on it would suggest one.
  IssuerBlock(pdf, fonts, receipt.issuer, left, y, width, false);

  pdf.Text(left, kPageHeight - kMargin - 12, width, "本書は電子的に発行した領収書です。",
           fonts.small, Align::kCenter, kGray);
  return pdf.Finish();
}

namespace {

// The points-conversion part of the month, shown as a discount (docs/INVOICES.md).
constexpr char kDiscountLabel[] = "ポイント交換Qキャッシュによる値引き";

// The columns of the statement's line table; their widths add up to kContentWidth.
struct Column {
  const char* title;
  double width;
  Align align;
};
constexpr Column kLineColumns[] = {
    {"日時", 90, Align::kLeft},        {"種類", 70, Align::kLeft},
    {"広告商品", 96, Align::kLeft},    {"予約番号", 129.276, Align::kLeft},
    {"金額（円）", 65, Align::kRight}, {"うち無償分（円）", 65, Align::kRight},
};
constexpr double kRowHeight = 15;
constexpr double kHeaderRowHeight = 17;
constexpr double kBodyBottom = kPageHeight - kMargin - 24;  // above the page footer

void TableHeader(Pdf& pdf, const Fonts& fonts, double y) {
  pdf.Fill(kMargin, y, kContentWidth, kHeaderRowHeight, kShade);
  double x = kMargin;
  for (const Column& c : kLineColumns) {
    pdf.Cell(x, y, c.width, kHeaderRowHeight, c.title, fonts.table_bold,
             c.align == Align::kRight ? Align::kRight : Align::kLeft);
    x += c.width;
  }
  pdf.Rule(kMargin, y, kMargin + kContentWidth, y, 0.8, kBlack);
  pdf.Rule(kMargin, y + kHeaderRowHeight, kMargin + kContentWidth, y + kHeaderRowHeight, 0.8,
           kBlack);
}

void LineRow(Pdf& pdf, const Fonts& fonts, double y, const StatementLine& line) {
  const std::string cells[] = {
      absl::FormatTime("%Y/%m/%d %H:%M", line.at, Jst()),
      line.kind_label,
      line.product_label,
      line.reference,
      GroupDigits(line.amount_yen),
      GroupDigits(line.free_yen),
  };
  double x = kMargin;
  for (size_t i = 0; i < std::size(kLineColumns); ++i) {
    pdf.Cell(x, y, kLineColumns[i].width, kRowHeight, cells[i], fonts.table, kLineColumns[i].align);
    x += kLineColumns[i].width;
  }
  pdf.Rule(kMargin, y + kRowHeight, kMargin + kContentWidth, y + kRowHeight, 0.3);
}

void PageFooter(Pdf& pdf, const Fonts& fonts, size_t page, size_t pages) {
  pdf.Text(kMargin, kPageHeight - kMargin - 10, kContentWidth,
           absl::StrFormat("%d / %d ページ", page, pages), fonts.small, Align::kCenter, kGray);
}

}  // namespace

absl::StatusOr<std::string> RenderStatementPdf(const Statement& statement) {
  if (statement.lines.size() > kStatementLinesMax) {
    return absl::InvalidArgumentError(absl::StrCat("a statement of ", statement.lines.size(),
                                                   " lines; at most ", kStatementLinesMax));
  }
  if (statement.products.size() > kStatementProductsMax) {
    return absl::InvalidArgumentError(absl::StrCat("a statement of ", statement.products.size(),
                                                   " products; at most ", kStatementProductsMax));
  }
  if (statement.period_end <= statement.period_start) {
    return absl::InvalidArgumentError("the statement's period ends before it starts");
  }
  // A qualified invoice names its issuer's registration number; one that fails the check digit
  // is a configuration mistake to fix, not a document to hand out.
  if (!IsValidRegistrationNumber(statement.issuer.registration_number)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the invoice registration number \"", statement.issuer.registration_number,
                     "\" is not T followed by a valid 13-digit corporate number"));
  }

  // Only a closed month's statement is the qualified invoice; the preliminary one of the month
  // still open says it is not one (docs/INVOICES.md: two invoices for the same ads must never
  // circulate).
  const std::string title =
      statement.closed ? "Qキャッシュ広告利用明細書 兼 適格請求書" : "Qキャッシュ広告利用明細書";
  const std::string month = absl::FormatTime("%Y年%m月分", statement.period_start, Jst());
  Pdf pdf(statement.issued_at, absl::StrCat(title, " ", month, statement.closed ? "" : "（速報）"),
          statement.issuer.name);
  Fonts fonts;
  if (absl::Status status = fonts.Check(pdf); !status.ok()) return status;

  // Page 1: the invoice part.
  double y = kMargin;
  y += pdf.Text(kMargin, y, kContentWidth, title, fonts.heading, Align::kCenter) + 4;
  if (!statement.closed) {
    const std::string mark = "速報（月途中）";
    const double mark_width = pdf.TextWidth(mark, fonts.mark) + 16;
    const double mark_x = kPageWidth / 2 - mark_width / 2;
    pdf.Frame(mark_x, y, mark_width, 22, 1.5, kMark);
    pdf.Cell(mark_x, y, mark_width, 22, mark, fonts.mark, Align::kCenter, kMark);
    y += 26;
    pdf.Text(kMargin, y, kContentWidth,
             "本書は月の途中の速報で、適格請求書ではありません。月末の締め後に、確定した明細書 兼 "
             "適格請求書を発行します。",
             fonts.small, Align::kCenter, kMark);
    y += 12;
  }
  y += 14;

  // Addressee and period on the left, the issuer on the right.
  const double half = kContentWidth / 2;
  const double top = y;
  const double addressee_height = Addressee(pdf, fonts, kMargin, y, half - 10,
                                            Recipient(statement.seller_id, statement.seller_name));
  y += addressee_height + 10;
  const absl::Time last_day = statement.period_end - absl::Nanoseconds(1);
  y +=
      pdf.Text(kMargin, y, half,
               absl::StrCat("対象期間　", JstDate(statement.period_start), "〜", JstDate(last_day)),
               fonts.body) +
      3;
  y += pdf.Text(kMargin, y, half, absl::StrCat("発行日　", JstDate(statement.issued_at)),
                fonts.body) +
       3;
  const double issuer_bottom =
      IssuerBlock(pdf, fonts, statement.issuer, kMargin + half, top, half, true);
  y = std::max(y, issuer_bottom) + 16;

  // The totals: what the invoice rules ask for (the amount per rate, tax included, and the tax
  // of that rate, rounded once for the invoice; docs/INVOICES.md).
  const double totals_width = 330;
  const double totals_x = kMargin + kContentWidth - totals_width;
  const double total_row = 20;
  const double label_width = 200;
  pdf.Rule(totals_x, y, totals_x + totals_width, y, 0.8, kBlack);
  LabelValueRow(pdf, fonts, totals_x, y, label_width, totals_width, total_row, "広告利用額合計",
                Yen(statement.total_yen), Align::kRight, true);
  y += total_row;
  LabelValueRow(pdf, fonts, totals_x, y, label_width, totals_width, total_row, kDiscountLabel,
                Yen(-statement.free_yen), Align::kRight);
  y += total_row;
  LabelValueRow(pdf, fonts, totals_x, y, label_width, totals_width, total_row,
                absl::StrCat(statement.tax_rate_percent, "%対象（税込）"),
                Yen(statement.taxable_yen), Align::kRight);
  y += total_row;
  LabelValueRow(pdf, fonts, totals_x, y, label_width, totals_width, total_row,
                absl::StrCat("消費税額(", statement.tax_rate_percent, "%)"), Yen(statement.tax_yen),
                Align::kRight, true);
  pdf.Rule(totals_x, y + total_row, totals_x + totals_width, y + total_row, 0.8, kBlack);
  y += total_row + 6;
  for (const char* note :
       {"※ 金額はすべて税込です。値引きは、サービスポイントから交換したQキャッシュ（無償分）での"
        "お支払い分です。",
        "※ 消費税額は10%対象額から本書1通につき1回計算し、1円未満を切り捨てています。",
        "※ お支払いはQキャッシュ残高から充当済みです。"}) {
    pdf.Text(kMargin, y, kContentWidth, note, fonts.small, Align::kRight, kGray);
    y += 12;
  }
  y += 10;
  y += 22;

  // Totals per product.
  y += pdf.Text(kMargin, y, kContentWidth, "広告商品別の合計", fonts.body_bold) + 4;
  const Column product_columns[] = {
      {"広告商品", 215.276, Align::kLeft},
      {"件数", 60, Align::kRight},
      {"利用額（円）", 120, Align::kRight},
      {"うち無償分（円）", 120, Align::kRight},
  };
  {
    pdf.Fill(kMargin, y, kContentWidth, kHeaderRowHeight, kShade);
    pdf.Rule(kMargin, y, kMargin + kContentWidth, y, 0.8, kBlack);
    double x = kMargin;
    for (const Column& c : product_columns) {
      pdf.Cell(x, y, c.width, kHeaderRowHeight, c.title, fonts.table_bold, c.align);
      x += c.width;
    }
    y += kHeaderRowHeight;
    pdf.Rule(kMargin, y, kMargin + kContentWidth, y, 0.8, kBlack);
    for (const StatementProductTotal& p : statement.products) {
      const std::string cells[] = {p.product_label, GroupDigits(p.lines), GroupDigits(p.amount_yen),
                                   GroupDigits(p.free_yen)};
      x = kMargin;
      for (size_t i = 0; i < std::size(product_columns); ++i) {
        pdf.Cell(x, y, product_columns[i].width, kRowHeight, cells[i], fonts.table,
                 product_columns[i].align);
        x += product_columns[i].width;
      }
      y += kRowHeight;
      pdf.Rule(kMargin, y, kMargin + kContentWidth, y, 0.3);
    }
    if (statement.products.empty()) {
      pdf.Cell(kMargin, y, kContentWidth, kRowHeight, "ご利用はありません。", fonts.table);
      y += kRowHeight;
      pdf.Rule(kMargin, y, kMargin + kContentWidth, y, 0.3);
    }
  }
  y += 18;

  // The lines: as many as fit below the invoice part on page 1, then full pages.
  const double heading_height = 16;
  const double first_rows_top = y + heading_height + kHeaderRowHeight;
  const double continued_rows_top = kMargin + 22 + kHeaderRowHeight;
  const size_t first_rows = first_rows_top >= kBodyBottom
                                ? 0
                                : static_cast<size_t>((kBodyBottom - first_rows_top) / kRowHeight);
  const size_t page_rows = static_cast<size_t>((kBodyBottom - continued_rows_top) / kRowHeight);
  const size_t lines = statement.lines.size();
  // The rows: every line, then the lines' total (or, with none, a row that says so).
  const size_t rows = lines + 1;
  // With no room at all on page 1 (many products), the lines start on page 2.
  const bool lines_on_first = first_rows > 0;
  const size_t on_first = lines_on_first ? std::min(rows, first_rows) : 0;
  const size_t pages = 1 + (rows - on_first + page_rows - 1) / page_rows;

  size_t page = 1;
  const std::string running_header =
      absl::StrCat(title, "　", month, "　",
                   CleanText(Recipient(statement.seller_id, statement.seller_name), 40), "　様",
                   statement.closed ? "" : "　速報（月途中）");
  auto start_continued_page = [&]() {
    PageFooter(pdf, fonts, page, pages);
    pdf.NextPage();
    ++page;
    pdf.Text(kMargin, kMargin, kContentWidth, running_header, fonts.small, Align::kLeft, kGray);
    TableHeader(pdf, fonts, kMargin + 22);
    return continued_rows_top;
  };
  if (lines_on_first) {
    pdf.Text(kMargin, y, kContentWidth, "ご利用明細", fonts.body_bold);
    TableHeader(pdf, fonts, y + heading_height);
    y = first_rows_top;
  } else {
    y = start_continued_page();
  }
  int64_t lines_amount_yen = 0;
  int64_t lines_free_yen = 0;
  for (size_t row = 0; row < rows; ++row) {
    if (y + kRowHeight > kBodyBottom + 0.01) y = start_continued_page();
    if (row < lines) {
      const StatementLine& line = statement.lines[row];
      LineRow(pdf, fonts, y, line);
      lines_amount_yen += line.amount_yen;
      lines_free_yen += line.free_yen;
    } else if (lines == 0) {
      pdf.Cell(kMargin, y, kContentWidth, kRowHeight, "この期間のご利用はありません。",
               fonts.table);
    } else {
      // The sum of the lines as printed, so a reader can tie them to the totals on page 1.
      const double amount_x =
          kMargin + kContentWidth - kLineColumns[4].width - kLineColumns[5].width;
      pdf.Fill(kMargin, y, kContentWidth, kRowHeight, kShade);
      pdf.Cell(kMargin, y, amount_x - kMargin, kRowHeight,
               absl::StrCat("明細の合計（", lines, "件）"), fonts.table_bold);
      pdf.Cell(amount_x, y, kLineColumns[4].width, kRowHeight, GroupDigits(lines_amount_yen),
               fonts.table_bold, Align::kRight);
      pdf.Cell(amount_x + kLineColumns[4].width, y, kLineColumns[5].width, kRowHeight,
               GroupDigits(lines_free_yen), fonts.table_bold, Align::kRight);
      pdf.Rule(kMargin, y + kRowHeight, kMargin + kContentWidth, y + kRowHeight, 0.8, kBlack);
    }
    y += kRowHeight;
  }
  PageFooter(pdf, fonts, page, pages);
  if (page != pages) {
    return absl::InternalError(
        absl::StrCat("statement pagination: drew ", page, " pages, numbered them of ", pages));
  }
  return pdf.Finish();
}

namespace {

// One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line break (the quote
// doubled). A text that a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage
// return first) gets an apostrophe in front; numbers are written by CsvNumber, never here.
std::string CsvText(absl::string_view text) {
  std::string value = CleanText(text.substr(0, kCsvFieldBytesMax), kCsvFieldBytesMax);
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    value.insert(0, "'");
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string CsvNumber(int64_t value) { return absl::StrCat(value); }

}  // namespace

std::string RenderStatementCsv(const Statement& statement) {
  std::string out = "\xEF\xBB\xBF";  // the BOM: spreadsheets then read the file as UTF-8
  auto row = [&out](std::initializer_list<std::string> fields) {
    bool first = true;
    for (const std::string& f : fields) {
      if (!first) out.push_back(',');
      out.append(f);
      first = false;
    }
    out.append("\r\n");
  };
  row({"日時", "種類", "広告商品", "予約番号", "金額（税込）", "うち有償分", "うち無償分",
       "明細番号"});
  for (const StatementLine& line : statement.lines) {
    row({absl::FormatTime("%Y/%m/%d %H:%M:%S", line.at, Jst()), CsvText(line.kind_label),
         CsvText(line.product_label), CsvText(line.reference), CsvNumber(line.amount_yen),
         CsvNumber(line.paid_yen), CsvNumber(line.free_yen), CsvNumber(line.entry_seq)});
  }
  // The totals: the label in the first column and the amount in the amount column; the discount
  // negative, so that the rows read total + discount = taxable as on the PDF.
  row({"広告利用額合計", "", "", "", CsvNumber(statement.total_yen), "", "", ""});
  row({kDiscountLabel, "", "", "", CsvNumber(-statement.free_yen), "", "", ""});
  row({absl::StrCat(statement.tax_rate_percent, "%対象（税込）"), "", "", "",
       CsvNumber(statement.taxable_yen), "", "", ""});
  row({absl::StrCat("消費税額(", statement.tax_rate_percent, "%)"), "", "", "",
       CsvNumber(statement.tax_yen), "", "", ""});
  return out;
}

}  // namespace qcash::gateway
