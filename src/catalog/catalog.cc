#include "catalog/catalog.h"

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
  d["distribution"] = json::array(
      {{{"@type", "Distribution"}, {"format", MediaType(r.value("file_name", ""))},
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
  for (auto names : {std::initializer_list<const char*>{"dct:title", "title",
                                                        "http://purl.org/dc/terms/title"},
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

bool Matches(const SearchDoc& d, const Query& q) {
  if (!q.sector.empty() && d.sector != Lower(q.sector)) return false;
  if (!q.level.empty() && d.level != Lower(q.level)) return false;
  if (!q.category.empty() &&
      std::find(d.categories.begin(), d.categories.end(), Lower(q.category)) == d.categories.end())
    return false;
  std::string words = Lower(q.q);
  size_t i = 0;
  while (i < words.size()) {
    while (i < words.size() && words[i] == ' ') ++i;
    size_t j = words.find(' ', i);
    if (j == std::string::npos) j = words.size();
    if (j > i && d.text.find(words.substr(i, j - i)) == std::string::npos) return false;
    i = j;
  }
  return true;
}

// --- the index ---------------------------------------------------------------------------

struct CatalogIndex::Snapshot {
  struct OfferView {
    json policy;                           // as shown in the catalog
    std::optional<policy::Policy> access;  // null: visible to everyone
  };
  struct Entry {
    json base;  // dataset without hasPolicy
    SearchDoc doc;
    std::vector<OfferView> offers;
    bool restricted = false;  // some offer has an access policy
    std::string all_json;     // serialized with every offer
  };
  int64_t generation = -1;
  std::vector<Entry> entries;  // in registration-id order
  std::map<std::string, size_t, std::less<>> by_id;
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

Status CatalogIndex::Refresh(store::Store& store) {
  KEXIN_ASSIGN_OR_RETURN(int64_t gen, CatalogGeneration(store));
  if (gen == Current()->generation) return Status::Ok();
  auto snap = std::make_shared<Snapshot>();
  snap->generation = gen;
  KEXIN_ASSIGN_OR_RETURN(std::vector<Offer> offers, ListOffers(store, false));
  std::map<std::string, std::vector<const Offer*>> by_reg;
  for (const auto& o : offers) by_reg[o.registration_id].push_back(&o);
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store.Query("SELECT r.id, r.record FROM registrations r WHERE r.version ="
                             " (SELECT MAX(v.version) FROM registrations v WHERE v.id = r.id)"
                             " AND r.id IN (SELECT registration_id FROM offers WHERE withdrawn = 0)"
                             " ORDER BY r.id"));
  const std::string today = NowRfc3339().substr(0, 10);
  const std::string service = "urn:kexin:" + info_.node_name + ":dsp";
  for (const auto& row : rows) {
    json record = json::parse(store::AsText(row[1]), nullptr, false);
    if (record.is_discarded())
      return Corruption("registration '" + store::AsText(row[0]) + "': stored record is not JSON");
    if (record.value("action", "") == "cancellation") continue;
    if (record.value("valid_until", "9999-12-31") < today) continue;
    Snapshot::Entry e;
    e.base = DatasetBase(record, service);
    json all = json::array();
    for (const Offer* o : by_reg[store::AsText(row[0])]) {
      Snapshot::OfferView v;
      v.policy = CatalogOffer(*o);
      if (!o->access_policy.is_null()) {
        auto a = policy::Parse(o->access_policy);
        if (!a.ok())
          return Corruption("offer '" + o->id + "': stored access policy: " + a.status().message());
        v.access = *a;
        e.restricted = true;
      }
      all.push_back(v.policy);
      e.offers.push_back(std::move(v));
    }
    json d = e.base;
    d["hasPolicy"] = all;
    e.all_json = d.dump();
    e.doc = SearchDocOf(e.base);
    snap->by_id[e.doc.id] = snap->entries.size();
    snap->entries.push_back(std::move(e));
  }
  std::lock_guard<std::mutex> l(mu_);
  if (snap_->generation < gen) snap_ = std::move(snap);
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

// The serialized dataset for `v`, or "" when it may see none of the offers.
std::string ForViewer(const CatalogIndex::Snapshot::Entry& e, const Viewer& v) {
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
  std::string datasets;
  for (const auto& e : snap->entries) {
    if (!Matches(e.doc, query)) continue;
    std::string s = ForViewer(e, viewer);
    if (s.empty()) continue;
    size_t index = page.total++;
    if (index < query.offset || (query.limit != 0 && page.count >= query.limit)) continue;
    if (!datasets.empty()) datasets += ',';
    datasets += s;
    ++page.count;
  }
  page.json = head.dump();
  if (page.count > 0) {
    page.json.pop_back();  // the closing brace
    page.json += ",\"dataset\":[" + datasets + "]}";
  }
  return page;
}

Result<json> CatalogIndex::Dataset(const Viewer& viewer, std::string_view id) const {
  auto snap = Current();
  auto it = snap->by_id.find(id);
  std::string s = it == snap->by_id.end() ? "" : ForViewer(snap->entries[it->second], viewer);
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
                           "': use an ISO 3166-1 alpha-2 code (CN, DE) or an ISO 3166-2:CN code "
                           "(CN-BJ)");
  if (peer.empty()) return InvalidArgument("peer: a name is required");
  region = *r;
  return store.Exec(
      "INSERT INTO catalog_peer_regions (peer, region) VALUES ($1, $2) ON CONFLICT (peer) DO "
      "UPDATE SET region = excluded.region",
      {std::string(peer), std::string(region)});
}

}  // namespace kexin::catalog
