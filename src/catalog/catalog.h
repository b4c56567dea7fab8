// Module `catalog` (catalog): the node's DCAT 3 catalog, computed per consumer, with search.
//
// The catalog lists every active registration that has at least one offer the consumer may see
// (its access policy permits the consumer), as a DSP Catalog (dcat:Catalog JSON-LD that validates
// against the Dataspace Protocol's catalog schema): each dcat:Dataset carries its title,
// description, keywords, sector, data categories and level from the registration's scan, its
// visible offers as odrl:hasPolicy and a dcat:Distribution. Shape: docs/catalog.md.
//
// CatalogIndex keeps the datasets in memory, each pre-serialized, and rebuilds them when the
// store's catalog generation (offer.h CatalogGeneration) changes, which happens in whichever
// process changes an offer or a registration. Responses for 10,000 datasets are concatenations
// of cached strings.
//
// Thread-safety: CatalogIndex is safe to use from any number of threads; each caller passes its
// own Store.
#ifndef KEXIN_CATALOG_CATALOG_H_
#define KEXIN_CATALOG_CATALOG_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/offer.h"
#include "kexin/status.h"
#include "store/store.h"

namespace kexin::catalog {

// Who looks at the catalog. A local user without a consumer sees every offer (everyone = true);
// a peer (or a local user asking "as peer X") sees the offers whose access policy permits it.
struct Viewer {
  bool everyone = false;
  std::string name;        // peer name
  std::string public_key;  // peer key, lowercase hex
  std::string region;      // peer region (catalog_peer_regions), may be empty
};

// Search filters; empty strings match everything. `q` matches when every word of it is a
// case-insensitive substring of the title, description, keywords, holder, coverage or field
// names (Chinese text matches by substring, e.g. "客户").
struct Query {
  std::string q, sector, category, level;
  size_t offset = 0;
  size_t limit = 0;  // 0: no limit
};

// Identity of the node serving the catalog.
struct CatalogInfo {
  std::string node_name;    // "node-a"
  std::string participant;  // participantId: the node's origin, e.g. "kexin.local/node-a"
  std::string endpoint;     // public URL, e.g. "http://127.0.0.1:8443"
};

// One dataset as search sees it (also built from peers' catalogs).
struct SearchDoc {
  std::string id;
  std::string text;  // lower-cased searchable text
  std::string sector, level;
  std::vector<std::string> categories;
};
SearchDoc SearchDocOf(const nlohmann::json& dataset);  // from a DCAT dataset (any DSP notation)

// Whether `viewer` may see `offer` (its access policy, when it has one, permits the viewer's name,
// key and region): the rule the catalog applies, for negotiation to apply too. A stored access
// policy that does not parse hides the offer.
bool OfferVisibleTo(const Offer& offer, const Viewer& viewer);
bool Matches(const SearchDoc& d, const Query& q);

// A query prepared once for many documents: lower-cased filters and keywords, so matching a
// document allocates nothing.
class QueryMatcher {
 public:
  explicit QueryMatcher(const Query& q);
  ~QueryMatcher();
  bool operator()(const SearchDoc& d) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CatalogIndex {
 public:
  explicit CatalogIndex(CatalogInfo info);
  ~CatalogIndex();
  // Rebuilds the index when the store's catalog generation differs from the indexed one.
  Status Refresh(store::Store& store);
  // The catalog as serialized JSON-LD, and the number of datasets in it (after search/paging)
  // and in total (after search, before paging).
  struct Page {
    std::string json;
    size_t count = 0;
    size_t total = 0;
  };
  Page Catalog(const Viewer& viewer, const Query& query) const;
  // One dataset (DSP Dataset with @context), or kNotFound when it does not exist or the viewer
  // may see none of its offers.
  Result<nlohmann::json> Dataset(const Viewer& viewer, std::string_view id) const;
  int64_t generation() const;
  size_t size() const;  // datasets indexed (with at least one active offer)
  const CatalogInfo& info() const { return info_; }
  // Above this many changed datasets a refresh reads the whole store at once (default 64).
  void set_bulk_threshold(size_t n) { bulk_threshold_ = n; }

  struct Snapshot;

 private:
  CatalogInfo info_;
  size_t bulk_threshold_ = 64;
  std::mutex rebuild_mu_;  // one rebuild at a time; the others wait and then find it done
  mutable std::mutex mu_;  // guards snap_ (the pointer, not the snapshot, which is immutable)
  std::shared_ptr<const Snapshot> snap_;
  std::shared_ptr<const Snapshot> Current() const;
};

// The region recorded for a peer (for access policies on spatial), or "".
Result<std::string> PeerRegion(store::Store& store, std::string_view peer);
// Records the peer's region (normalized; kInvalidArgument for anything but a region code).
Status SetPeerRegion(store::Store& store, std::string_view peer, std::string_view region);

}  // namespace kexin::catalog

#endif  // KEXIN_CATALOG_CATALOG_H_
