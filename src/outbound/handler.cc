// The handler file: who sends, and the people it has already sent abroad this year.
#include <toml++/toml.h>

#include <map>
#include <set>

#include "base/file.h"
#include "outbound/outbound.h"
#include "outbound/toml_util.h"

namespace kexin::outbound {

using internal::Where;

Result<Handler> ParseHandler(std::string_view toml_text, std::string_view source) {
  KEXIN_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(toml_text, source));
  static const std::map<std::string, std::set<std::string>, std::less<>> kKeys = {
      {"handler", {"id", "name", "uscc", "ciio", "free_trade_zone", "sector"}},
      {"sent", {"year", "people", "sensitive_people"}},
      {"settings",
       {"count_exempt_transfers", "scan_important_is_important_data", "ftz_listed_also_national"}}};
  KEXIN_RETURN_IF_ERROR(internal::CheckKeys(root, source, kKeys));

  Handler h;
  h.file = std::string(source);
  const toml::table* t = root["handler"].as_table();
  if (t == nullptr) return DataError(std::string(source) + ":1: missing [handler] table");
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, source, "handler", "id", true, &h.id));
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, source, "handler", "name", false, &h.name));
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, source, "handler", "uscc", false, &h.uscc));
  KEXIN_RETURN_IF_ERROR(internal::GetBool(*t, source, "handler", "ciio", &h.ciio));
  KEXIN_RETURN_IF_ERROR(
      internal::GetString(*t, source, "handler", "free_trade_zone", false, &h.free_trade_zone));
  KEXIN_RETURN_IF_ERROR(internal::GetString(*t, source, "handler", "sector", false, &h.sector));
  if (h.name.empty()) h.name = h.id;
  if (!h.sector.empty() && h.free_trade_zone.empty()) {
    return DataError(Where(source, *t->get("sector")) +
                     ": handler.sector needs handler.free_trade_zone");
  }

  if (const toml::table* s = root["sent"].as_table()) {
    uint64_t year = 0;
    KEXIN_RETURN_IF_ERROR(internal::GetCount(*s, source, "sent", "year", &year));
    if (s->get("year") == nullptr) {
      return DataError(Where(source, *s) + ": [sent] needs year (the calendar year of the counts)");
    }
    if (year < 2000 || year > 9999) {
      return DataError(Where(source, *s->get("year")) + ": sent.year must be a year, got " +
                       std::to_string(year));
    }
    h.sent_year = static_cast<int>(year);
    KEXIN_RETURN_IF_ERROR(internal::GetCount(*s, source, "sent", "people", &h.sent_people));
    KEXIN_RETURN_IF_ERROR(
        internal::GetCount(*s, source, "sent", "sensitive_people", &h.sent_sensitive));
  }
  if (const toml::table* s = root["settings"].as_table()) {
    KEXIN_RETURN_IF_ERROR(internal::GetBool(*s, source, "settings", "count_exempt_transfers",
                                            &h.settings.count_exempt_transfers));
    KEXIN_RETURN_IF_ERROR(internal::GetBool(*s, source, "settings",
                                            "scan_important_is_important_data",
                                            &h.settings.scan_important_is_important_data));
    KEXIN_RETURN_IF_ERROR(internal::GetBool(*s, source, "settings", "ftz_listed_also_national",
                                            &h.settings.ftz_listed_also_national));
  }
  return h;
}

Result<Handler> LoadHandlerFile(const std::string& path) {
  KEXIN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseHandler(text, path);
}

}  // namespace kexin::outbound
