#include "catalog/catalog.h"

#include <string.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "base/clock.h"
#include "catalog/offer.h"
#include "policy/policy.h"

namespace kexin::catalog {

using nlohmann::json;

namespace {

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// A member under its compact DSP/kexin name or its full IRI.
const json* Get(const json& obj, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = obj.find(n);
    if (it != obj.end()) return &*it;
  }
  return nullptr;
}

void AppendText(const json* v, std::string* out) {
  if (v == nullptr) return;
  if (v->is_string()) {
    *out += Lower(v->get<std::string>());
    *out += '\n';
  } else if (v->is_array()) {
    for (const auto& x : *v) AppendText(&x, out);
  } else if (v->is_object() && v->contains("@value")) {
    AppendText(&(*v)["@value"], out);
  }
}

std::string StringOf(const json* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("@value") && (*v)["@value"].is_string())
    return (*v)["@value"].get<std::string>();
  return "";
}

std::string MediaType(const std::string& file_name) {
  auto dot = file_name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : Lower(file_name.substr(dot + 1));
  if (ext == "csv") return "text/csv";
  if (ext == "jsonl" || ext == "ndjson") return "application/jsonl";
  if (ext == "json") return "application/json";
  return "application/octet-stream";
}

// The dataset JSON (without hasPolicy) of a registration record.
json DatasetBase(const json& r, const std::string& service) {
  json d = json::object();
  d["@id"] = r.value("id", "");
  d["@type"] = "Dataset";
  d["dct:title"] = r.value("name", "");
  if (r.contains("description") && r["description"].is_string())
    d["dct:description"] = r["description"];
  std::vector<std::string> kw;
  for (const char* k : {"sector", "scenario"}) {
    std::string v = r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : "";
    if (!v.empty() && std::find(kw.begin(), kw.end(), v) == kw.end()) kw.push_back(v);
  }
  d["dcat:keyword"] = kw;
  if (r.contains("holder") && r["holder"].is_string()) d["dct:publisher"] = r["holder"];
  if (r.contains("registered_at")) d["dct:modified"] = r["registered_at"];
  d["kexin:sector"] = r.value("sector", "");
  std::set<std::string> cats;
  json fields = json::array();
  if (r.contains("fields") && r["fields"].is_array()) {
    for (const auto& f : r["fields"]) {
      if (f.contains("category") && f["category"].is_string()) cats.insert(f["category"]);
      if (f.contains("name") && f["name"].is_string()) fields.push_back(f["name"]);
    }
  }
  d["kexin:categories"] = std::vector<std::string>(cats.begin(), cats.end());
  d["kexin:level"] = r.value("level", "");
  d["kexin:personalInformation"] = r.value("personal_information", false);
  if (r.contains("coverage") && r["coverage"].is_string()) d["kexin:coverage"] = r["coverage"];
  if (r.contains("magnitude") && r["magnitude"].is_object() && r["magnitude"].contains("rows"))
    d["kexin:rows"] = r["magnitude"]["rows"];
  d["kexin:fields"] = fields;
  d["kexin:registrationVersion"] = r.value("version", 0);
  d["distribution"] = json::array({{{"@type", "Distribution"},
                                    {"format", MediaType(r.value("file_name", ""))},
                                    {"accessService", service}}});
  return d;
}

// An offer as it appears inside a dataset: no context, no target (DSP catalog schema).
json CatalogOffer(const Offer& o) {
  json p = o.policy;
  p.erase("@context");
  p.erase("target");
  return p;
}

}  // namespace

SearchDoc SearchDocOf(const json& d) {
  SearchDoc s;
  s.id = StringOf(Get(d, {"@id"}));
  for (auto names :
       {std::initializer_list<const char*>{"dct:title", "title", "http://purl.org/dc/terms/title"},
        {"dct:description", "description", "http://purl.org/dc/terms/description"},
        {"dcat:keyword", "keyword", "http://www.w3.org/ns/dcat#keyword"},
        {"dct:publisher", "publisher"},
        {"kexin:coverage"},
        {"kexin:fields"}})
    AppendText(Get(d, names), &s.text);
  s.sector = Lower(StringOf(Get(d, {"kexin:sector"})));
  s.level = Lower(StringOf(Get(d, {"kexin:level"})));
  if (const json* c = Get(d, {"kexin:categories"}); c && c->is_array())
    for (const auto& x : *c)
      if (x.is_string()) s.categories.push_back(Lower(x.get<std::string>()));
  return s;
}

struct QueryMatcher::Impl {
  std::string sector, level, category;
  std::vector<std::string> words;
};

QueryMatcher::QueryMatcher(const Query& q) : impl_(std::make_unique<Impl>()) {
  impl_->sector = Lower(q.sector);
  impl_->level = Lower(q.level);
  impl_->category = Lower(q.category);
  std::string words = Lower(q.q);
  size_t i = 0;
  while (i < words.size()) {
    while (i < words.size() && words[i] == ' ') ++i;
    size_t j = words.find(' ', i);
    if (j == std::string::npos) j = words.size();
    if (j > i) impl_->words.push_back(words.substr(i, j - i));
    i = j;
  }
}

QueryMatcher::~QueryMatcher() = default;

bool QueryMatcher::operator()(const SearchDoc& d) const {
  if (!impl_->sector.empty() && d.sector != impl_->sector) return false;
  if (!impl_->level.empty() && d.level != impl_->level) return false;
  if (!impl_->category.empty() &&
      std::find(d.categories.begin(), d.categories.end(), impl_->category) == d.categories.end())
    return false;
  for (const auto& w : impl_->words) {
    // glibc's memmem (two-way) beats a first-byte scan on CJK text, whose lead bytes repeat.
    if (memmem(d.text.data(), d.text.size(), w.data(), w.size()) == nullptr) return false;
  }
  return true;
}

bool Matches(const SearchDoc& d, const Query& q) { return QueryMatcher(q)(d); }

// --- the index ---------------------------------------------------------------------------

struct CatalogIndex::Snapshot {
  struct OfferView {
    json policy;                           // as shown in the catalog
    std::optional<policy::Policy> access;  // null: visible to everyone
  };
  struct Entry {
    int64_t version = 0;     // registration version it was built from
    std::string offers_key;  // ids of the active offers it was built from
    json base;               // dataset without hasPolicy
    SearchDoc doc;
    std::vector<OfferView> offers;
    bool restricted = false;  // some offer has an access policy
    std::string all_json;     // serialized with every offer
  };
  int64_t generation = -1;
  // What the snapshot was built from: catalog_generation, and the registrations' row count and
  // largest ledger index (new registration rows are those above it).
  int64_t offers_gen = -1, reg_count = -1, reg_max = -1;
  std::string day;  // registrations expire by date: a new day rebuilds everything
  size_t all_bytes = 0;
  std::vector<std::shared_ptr<const Entry>> entries;  // sorted by registration id
  // The entry for `id`, or nullptr.
  const std::shared_ptr<const Entry>* Find(std::string_view id) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), id,
                               [](const auto& e, std::string_view x) { return e->doc.id < x; });
    return it != entries.end() && (*it)->doc.id == id ? &*it : nullptr;
  }
};

CatalogIndex::CatalogIndex(CatalogInfo info)
    : info_(std::move(info)), snap_(std::make_shared<Snapshot>()) {}
CatalogIndex::~CatalogIndex() = default;

std::shared_ptr<const CatalogIndex::Snapshot> CatalogIndex::Current() const {
  std::lock_guard<std::mutex> l(mu_);
  return snap_;
}

int64_t CatalogIndex::generation() const { return Current()->generation; }
size_t CatalogIndex::size() const { return Current()->entries.size(); }

namespace {

using Entry = CatalogIndex::Snapshot::Entry;

// Builds one dataset entry; nullptr when the registration is cancelled or expired.
Result<std::shared_ptr<const Entry>> BuildEntry(const std::string& id, int64_t version,
                                                const std::string& record_text,
                                                const std::vector<Offer>& offers,
                                                const std::string& offers_key,
                                                const std::string& today,
                                                const std::string& service) {
  json record = json::parse(record_text, nullptr, false);
  if (record.is_discarded())
    return Corruption("registration '" + id + "': stored record is not JSON");
  if (record.value("action", "") == "cancellation") return std::shared_ptr<const Entry>();
  if (record.value("valid_until", "9999-12-31") < today) return std::shared_ptr<const Entry>();
  auto e = std::make_shared<Entry>();
  e->version = version;
  e->offers_key = offers_key;
  e->base = DatasetBase(record, service);
  json all = json::array();
  for (const Offer& o : offers) {
    CatalogIndex::Snapshot::OfferView v;
    v.policy = CatalogOffer(o);
    if (!o.access_policy.is_null()) {
      auto a = policy::Parse(o.access_policy);
      if (!a.ok())
        return Corruption("offer '" + o.id + "': stored access policy: " + a.status().message());
      v.access = *a;
      e->restricted = true;
    }
    all.push_back(v.policy);
    e->offers.push_back(std::move(v));
  }
  json d = e->base;
  d["hasPolicy"] = all;
  e->all_json = d.dump();
  e->doc = SearchDocOf(e->base);
  return std::shared_ptr<const Entry>(std::move(e));
}

}  // namespace

namespace {

struct Marks {
  int64_t offers_gen, reg_count, reg_max;
};

Result<Marks> ReadMarks(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store.Query("SELECT (SELECT generation FROM catalog_generation WHERE id = 1),"
                             " (SELECT COUNT(*) FROM registrations),"
                             " (SELECT COALESCE(MAX(ledger_index), -1) FROM registrations)"));
  if (rows.empty()) return Internal("catalog generation: no row");
  return Marks{store::AsInt(rows[0][0]), store::AsInt(rows[0][1]), store::AsInt(rows[0][2])};
}

std::string OffersKey(const std::vector<Offer>& offers) {
  std::string k;
  for (const auto& o : offers) k += o.id + "\n";
  return k;
}

}  // namespace

Status CatalogIndex::Refresh(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(Marks m, ReadMarks(store));
  const int64_t gen = m.offers_gen + m.reg_count;  // == CatalogGeneration
  const std::string today = NowRfc3339().substr(0, 10);
  if (gen == Current()->generation && today == Current()->day) return Status::Ok();
  std::lock_guard<std::mutex> rebuilding(rebuild_mu_);
  auto old = Current();  // another thread may have rebuilt while this one waited
  if (gen <= old->generation && today == old->day) return Status::Ok();
  const std::string service = "urn:kexin:" + info_.node_name + ":dsp";
  auto publish = [&](std::shared_ptr<Snapshot> snap) {
    snap->generation = gen;
    snap->offers_gen = m.offers_gen;
    snap->reg_count = m.reg_count;
    snap->reg_max = m.reg_max;
    snap->day = today;
    std::lock_guard<std::mutex> l(mu_);
    if (snap_->generation <= gen) snap_ = std::move(snap);
  };
  if (old->generation >= 0 && today == old->day) {
    // Incremental: the datasets named by offer changes since the snapshot, and registrations with
    // new rows. If the new rows do not add up (a row committed late, or rows removed by hand),
    // fall back to the full comparison below.
    KEXIN_ASSIGN_OR_RETURN(auto changed_offers,
                           store.Query("SELECT DISTINCT registration_id FROM catalog_changes"
                                       " WHERE seq > $1",
                                       {old->offers_gen}));
    KEXIN_ASSIGN_OR_RETURN(auto new_rows, store.Query("SELECT id FROM registrations WHERE"
                                                      " ledger_index > $1",
                                                      {old->reg_max}));
    std::set<std::string> ids;
    for (const auto& r : changed_offers) ids.insert(store::AsText(r[0]));
    for (const auto& r : new_rows) ids.insert(store::AsText(r[0]));
    if (static_cast<int64_t>(new_rows.size()) == m.reg_count - old->reg_count &&
        ids.size() <= bulk_threshold_) {
      auto snap = std::make_shared<Snapshot>();
      snap->entries = old->entries;  // shared entries: copies pointers only
      snap->all_bytes = old->all_bytes;
      for (const auto& id : ids) {
        KEXIN_ASSIGN_OR_RETURN(auto rows,
                               store.Query("SELECT version, record FROM registrations WHERE id = $1"
                                           " ORDER BY version DESC LIMIT 1",
                                           {id}));
        KEXIN_ASSIGN_OR_RETURN(std::vector<Offer> offers, ListOffersFor(store, id));
        std::shared_ptr<const Entry> e;
        if (!rows.empty() && !offers.empty()) {
          KEXIN_ASSIGN_OR_RETURN(
              e, BuildEntry(id, store::AsInt(rows[0][0]), store::AsText(rows[0][1]), offers,
                            OffersKey(offers), today, service));
        }
        auto& v = snap->entries;
        auto it = std::lower_bound(v.begin(), v.end(), id, [](const auto& x, const std::string& k) {
          return x->doc.id < k;
        });
        const bool present = it != v.end() && (*it)->doc.id == id;
        if (present) snap->all_bytes -= (*it)->all_json.size() + 1;
        if (e) snap->all_bytes += e->all_json.size() + 1;
        if (present && e)
          *it = std::move(e);
        else if (present)
          v.erase(it);
        else if (e)
          v.insert(it, std::move(e));
      }
      publish(std::move(snap));
      return Status::Ok();
    }
  }
  // Full comparison: each offered registration's latest version and active offers; entries whose
  // version and offers are unchanged are still reused.
  KEXIN_ASSIGN_OR_RETURN(auto versions,
                         store.Query("SELECT id, MAX(version) FROM registrations WHERE id IN"
                                     " (SELECT registration_id FROM offers WHERE withdrawn = 0)"
                                     " GROUP BY id ORDER BY id"));
  KEXIN_ASSIGN_OR_RETURN(auto offer_rows,
                         store.Query("SELECT registration_id, id FROM offers WHERE withdrawn = 0"
                                     " ORDER BY created, id"));
  std::map<std::string, std::string> keys;
  for (const auto& r : offer_rows) keys[store::AsText(r[0])] += store::AsText(r[1]) + "\n";
  const bool same_day = today == old->day;
  std::vector<size_t> stale;  // indices into `versions` to rebuild
  for (size_t i = 0; i < versions.size(); ++i) {
    auto found = old->Find(store::AsText(versions[i][0]));
    const Entry* e = found ? found->get() : nullptr;
    if (!same_day || e == nullptr || e->version != store::AsInt(versions[i][1]) ||
        e->offers_key != keys[store::AsText(versions[i][0])])
      stale.push_back(i);
  }
  std::map<std::string, std::shared_ptr<const Entry>> rebuilt;
  if (stale.size() >
      bulk_threshold_) {  // many changes (or the first build): read everything at once
    KEXIN_ASSIGN_OR_RETURN(std::vector<Offer> offers, ListOffers(store, false));
    std::map<std::string, std::vector<Offer>> by_reg;
    for (auto& o : offers) by_reg[o.registration_id].push_back(std::move(o));
    KEXIN_ASSIGN_OR_RETURN(
        auto rows, store.Query("SELECT r.id, r.version, r.record FROM registrations r WHERE"
                               " r.version = (SELECT MAX(v.version) FROM registrations v WHERE"
                               " v.id = r.id) AND r.id IN (SELECT registration_id FROM offers"
                               " WHERE withdrawn = 0)"));
    std::map<std::string, const store::Row*> row_of;
    for (const auto& r : rows) row_of[store::AsText(r[0])] = &r;
    for (size_t i : stale) {
      std::string id = store::AsText(versions[i][0]);
      auto r = row_of.find(id);
      if (r == row_of.end()) continue;  // changed between the two queries; next refresh
      KEXIN_ASSIGN_OR_RETURN(
          rebuilt[id], BuildEntry(id, store::AsInt((*r->second)[1]), store::AsText((*r->second)[2]),
                                  by_reg[id], keys[id], today, service));
    }
  } else {
    for (size_t i : stale) {
      std::string id = store::AsText(versions[i][0]);
      int64_t version = store::AsInt(versions[i][1]);
      KEXIN_ASSIGN_OR_RETURN(auto rows,
                             store.Query("SELECT record FROM registrations WHERE id = $1 AND"
                                         " version = $2",
                                         {id, version}));
      if (rows.empty()) continue;
      KEXIN_ASSIGN_OR_RETURN(std::vector<Offer> offers, ListOffersFor(store, id));
      KEXIN_ASSIGN_OR_RETURN(rebuilt[id], BuildEntry(id, version, store::AsText(rows[0][0]), offers,
                                                     keys[id], today, service));
    }
  }
  auto snap = std::make_shared<Snapshot>();
  snap->entries.reserve(versions.size());
  for (size_t i = 0, s = 0; i < versions.size(); ++i) {
    std::string id = store::AsText(versions[i][0]);
    std::shared_ptr<const Entry> e;
    if (s < stale.size() && stale[s] == i) {
      ++s;
      e = rebuilt[id];
    } else {
      e = *old->Find(id);
    }
    if (!e) continue;
    snap->all_bytes += e->all_json.size() + 1;
    snap->entries.push_back(std::move(e));
  }
  // The store's ORDER BY may collate differently (PostgreSQL locales): sort as the index expects.
  std::sort(snap->entries.begin(), snap->entries.end(),
            [](const auto& a, const auto& b) { return a->doc.id < b->doc.id; });
  publish(std::move(snap));
  return Status::Ok();
}

namespace {

bool Visible(const policy::Policy& access, const Viewer& v) {
  policy::Context c;
  c.consumer = v.name;
  c.consumer_key = v.public_key;
  c.destination = v.region;
  return policy::Evaluate(access, c).permitted;
}

}  // namespace

bool OfferVisibleTo(const Offer& offer, const Viewer& viewer) {
  if (viewer.everyone || offer.access_policy.is_null()) return true;
  auto a = policy::Parse(offer.access_policy);
  return a.ok() && Visible(*a, viewer);
}

namespace {

// The serialized dataset for `v`, or "" when it may see none of the offers.
bool AnyVisible(const Entry& e, const Viewer& v) {
  if (v.everyone || !e.restricted) return true;
  for (const auto& o : e.offers)
    if (!o.access || Visible(*o.access, v)) return true;
  return false;
}

// Appends the serialized dataset for `v` to *out; false when it may see none of the offers.
bool AppendForViewer(const Entry& e, const Viewer& v, std::string* out) {
  if (v.everyone || !e.restricted) {
    out->append(e.all_json);
    return true;
  }
  json offers = json::array();
  for (const auto& o : e.offers)
    if (!o.access || Visible(*o.access, v)) offers.push_back(o.policy);
  if (offers.empty()) return false;
  if (offers.size() == e.offers.size()) {
    out->append(e.all_json);
    return true;
  }
  json d = e.base;
  d["hasPolicy"] = std::move(offers);
  out->append(d.dump());
  return true;
}

std::string ForViewer(const Entry& e, const Viewer& v) {
  if (v.everyone || !e.restricted) return e.all_json;
  json offers = json::array();
  for (const auto& o : e.offers)
    if (!o.access || Visible(*o.access, v)) offers.push_back(o.policy);
  if (offers.empty()) return "";
  if (offers.size() == e.offers.size()) return e.all_json;
  json d = e.base;
  d["hasPolicy"] = std::move(offers);
  return d.dump();
}

}  // namespace

CatalogIndex::Page CatalogIndex::Catalog(const Viewer& viewer, const Query& query) const {
  auto snap = Current();
  json head = {{"@context", {policy::kDspContext, policy::kKexinContext}},
               {"@id", "urn:kexin:" + info_.node_name + ":catalog"},
               {"@type", "Catalog"},
               {"participantId", info_.participant},
               {"dct:title", info_.node_name},
               {"service",
                {{{"@id", "urn:kexin:" + info_.node_name + ":dsp"},
                  {"@type", "DataService"},
                  {"endpointURL", info_.endpoint + "/dsp"}}}}};
  Page page;
  std::string& out = page.json;
  out = head.dump();
  out.pop_back();  // the closing brace; datasets are appended in place
  const size_t head_size = out.size();
  const bool bounded = query.limit != 0;
  out.reserve(head_size + 16 + (bounded ? 0 : snap->all_bytes));
  out += ",\"dataset\":[";
  const QueryMatcher matches(query);
  for (const auto& e : snap->entries) {
    if (!matches(e->doc)) continue;
    const bool in_page = page.total >= query.offset && (!bounded || page.count < query.limit);
    if (!in_page) {
      // Outside the page the dataset still counts toward total when the viewer may see it.
      if (AnyVisible(*e, viewer)) ++page.total;
      continue;
    }
    size_t mark = out.size();
    if (page.count > 0) out += ',';
    if (!AppendForViewer(*e, viewer, &out)) {
      out.resize(mark);
      continue;
    }
    ++page.total;
    ++page.count;
  }
  if (page.count == 0) {
    out.resize(head_size);
    out += '}';
  } else {
    out += "]}";
  }
  return page;
}

Result<json> CatalogIndex::Dataset(const Viewer& viewer, std::string_view id) const {
  auto snap = Current();
  auto found = snap->Find(id);
  std::string s = found ? ForViewer(**found, viewer) : "";
  if (s.empty()) return NotFound("dataset '" + std::string(id) + "' does not exist");
  json d = json::parse(s);
  d["@context"] = {policy::kDspContext, policy::kKexinContext};
  return d;
}

Result<std::string> PeerRegion(store::Store& store, std::string_view peer) {
  KEXIN_ASSIGN_OR_RETURN(auto rows, store.Query("SELECT region FROM catalog_peer_regions WHERE "
                                                "peer = $1",
                                                {std::string(peer)}));
  return rows.empty() ? std::string() : store::AsText(rows[0][0]);
}

Status SetPeerRegion(store::Store& store, std::string_view peer, std::string_view region) {
  auto r = policy::NormalizeRegion(region);
  if (!r)
    return InvalidArgument("region '" + std::string(region) +
                           "': use an ISO 3166-1 alpha-2 code (CN, DE), an ISO 3166-2:CN code "
                           "(CN-BJ) or a province-level GB/T 2260 code (110000)");
  if (peer.empty()) return InvalidArgument("peer: a name is required");
  region = *r;
  return store.Exec(
      "INSERT INTO catalog_peer_regions (peer, region) VALUES ($1, $2) ON CONFLICT (peer) DO "
      "UPDATE SET region = excluded.region",
      {std::string(peer), std::string(region)});
}

}  // namespace kexin::catalog
