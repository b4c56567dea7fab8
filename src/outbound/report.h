// The assessment report: the self-assessment a company files for one transfer abroad. JSON for
// programs (schema docs/schemas/outbound-assessment.schema.json, meaning in docs/outbound.md),
// a self-contained HTML page, and an aligned text summary.
// Thread-safety: pure functions.
#ifndef KEXIN_OUTBOUND_REPORT_H_
#define KEXIN_OUTBOUND_REPORT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "outbound/inventory.h"
#include "outbound/negative_list.h"
#include "outbound/outbound.h"

namespace kexin::outbound {

struct TransferInfo {
  std::string date;  // YYYY-MM-DD (UTC), the counters' year comes from it
  std::string scenario;
  std::string destination;  // ISO 3166-1 alpha-2
  std::string recipient;
  std::string purpose;
  bool important_declared = false;  // --important-data
};

struct Assessment {
  std::string generated_at;
  TransferInfo transfer;
  Handler handler;
  Inventory inventory;
  TransferFacts facts;
  PriorCounts prior;
  int year = 0;
  std::vector<std::string> list_files;  // every list file loaded
  // The loaded lists: `scenario` and `list_match` point into them, so they are shared, never
  // copied.
  std::shared_ptr<const std::vector<NegativeList>> lists;
  std::optional<ScenarioRef> scenario;  // the handler's zone list scenario, when one applies
  ListMatch list_match;
  Decision decision;
  std::vector<std::string> notes;
};

std::string RenderAssessmentJson(const Assessment& a);
std::string RenderAssessmentHtml(const Assessment& a);
std::string RenderAssessmentTable(const Assessment& a);

}  // namespace kexin::outbound

#endif  // KEXIN_OUTBOUND_REPORT_H_
