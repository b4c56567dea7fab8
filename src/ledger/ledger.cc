#include "ledger/ledger.h"

#include <ctime>

#include "base/thread_name.h"
#include "json/canonical.h"

namespace kexin::ledger {
namespace {

Result<Hash> HashFromHex(const std::string& hex) {
  auto raw = crypto::HexDecode(hex);
  if (!raw.ok() || raw->size() != 32)
    return Corruption("stored hash '" + hex + "' is not 32 bytes of hex");
  Hash h;
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

}  // namespace

Result<std::string> CanonicalEntry(const std::string& type, const std::string& time,
                                   const nlohmann::json& body) {
  if (type.empty()) return InvalidArgument("ledger entry type is empty");
  nlohmann::json e = {{"type", type}, {"time", time}, {"body", body}};
  return json::Canonicalize(e);
}

Ledger::Ledger(std::unique_ptr<store::Store> store, crypto::SigningKey key, LedgerOptions options)
    : store_(std::move(store)), key_(std::move(key)), options_(std::move(options)) {}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

Result<std::unique_ptr<Ledger>> Ledger::Open(std::unique_ptr<store::Store> store,
                                             crypto::SigningKey key, LedgerOptions options) {
  if (options.origin.empty()) return InvalidArgument("ledger origin is empty");
  KEXIN_RETURN_IF_ERROR(store->Migrate(store::KexinMigrations()));
  std::unique_ptr<Ledger> l(new Ledger(std::move(store), std::move(key), std::move(options)));
  KEXIN_RETURN_IF_ERROR(l->Load());
  l->committer_ = std::thread([p = l.get()] {
    NameThisThread("kexin-ledger");
    p->CommitLoop();
  });
  return l;
}

Status Ledger::Load() {
  KEXIN_ASSIGN_OR_RETURN(auto rows,
                         store_->Query("SELECT idx, leaf_hash FROM ledger_entries ORDER BY idx"));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (store::AsInt(rows[i][0]) != static_cast<int64_t>(i)) {
      return Corruption("ledger: entry " + std::to_string(i) + " is missing (found index " +
                        std::to_string(store::AsInt(rows[i][0])) + ")");
    }
    KEXIN_ASSIGN_OR_RETURN(Hash h, HashFromHex(store::AsText(rows[i][1])));
    tree_.Append(h);
  }
  uint64_t n = tree_.size();
  uint64_t from = n > options_.verify_tail ? n - options_.verify_tail : 0;
  // Bounded by n: another process may have appended since the first read.
  KEXIN_ASSIGN_OR_RETURN(
      auto tail,
      store_->Query(
          "SELECT idx, entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
          {static_cast<int64_t>(from), static_cast<int64_t>(n)}));
  for (const auto& r : tail) {
    uint64_t idx = static_cast<uint64_t>(store::AsInt(r[0]));
    if (LeafHash(store::AsText(r[1])) != tree_.leaf(idx)) {
      return Corruption("ledger: entry " + std::to_string(idx) +
                        " does not match its stored leaf hash");
    }
  }
  auto cp = LatestCheckpoint();
  if (cp.ok()) {
    auto note = SignedNote::Parse(*cp);
    if (!note.ok()) return note.status().WithContext("ledger: latest checkpoint");
    KEXIN_RETURN_IF_ERROR(VerifyNote(*note, verifier()).WithContext("ledger: latest checkpoint"));
    KEXIN_ASSIGN_OR_RETURN(auto c, Checkpoint::ParseBody(note->text));
    if (c.origin != options_.origin) {
      return Corruption("ledger: the latest checkpoint is for origin '" + c.origin + "', not '" +
                        options_.origin + "'");
    }
    if (c.size > n) {
      // Another process may have appended and signed since the entries were read.
      KEXIN_RETURN_IF_ERROR(CatchUp());
      n = tree_.size();
    }
    if (c.size > n) {
      return Corruption("ledger: the latest checkpoint covers " + std::to_string(c.size) +
                        " entries but only " + std::to_string(n) + " are stored");
    }
    if (tree_.Root(c.size) != c.root)
      return Corruption(
          "ledger: stored entries do not reproduce the root of the latest checkpoint (size " +
          std::to_string(c.size) + ")");
  } else if (cp.status().code() != StatusCode::kNotFound) {
    return cp.status();
  }
  return Status::Ok();
}

Result<uint64_t> Ledger::Append(const std::string& type, const nlohmann::json& body) {
  KEXIN_ASSIGN_OR_RETURN(std::string entry, CanonicalEntry(type, NowRfc3339(), body));
  return AppendCanonical(std::move(entry));
}

Result<uint64_t> Ledger::AppendCanonical(std::string entry) {
  Pending p;
  p.entry = std::move(entry);
  std::unique_lock<std::mutex> l(mu_);
  if (stop_) return FailedPrecondition("ledger is closing");
  queue_.push_back(&p);
  work_cv_.notify_one();
  done_cv_.wait(l, [&] { return p.done; });
  if (!p.status.ok()) return p.status;
  return p.index;
}

Result<uint64_t> Ledger::AppendBatch(
    const std::vector<std::pair<std::string, nlohmann::json>>& entries) {
  if (entries.empty()) return InvalidArgument("ledger: an empty batch");
  std::vector<Pending> ps(entries.size());
  const std::string now = NowRfc3339();
  for (size_t i = 0; i < entries.size(); ++i) {
    KEXIN_ASSIGN_OR_RETURN(ps[i].entry, CanonicalEntry(entries[i].first, now, entries[i].second));
    ps[i].joined = i + 1 < entries.size();
  }
  std::unique_lock<std::mutex> l(mu_);
  if (stop_) return FailedPrecondition("ledger is closing");
  for (Pending& p : ps) queue_.push_back(&p);
  work_cv_.notify_one();
  done_cv_.wait(l, [&] { return ps.back().done; });  // one commit holds them all
  if (!ps.back().status.ok()) return ps.back().status;
  return ps.front().index;
}

void Ledger::CommitLoop() {
  std::vector<Pending*> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      size_t take = std::min(queue_.size(), std::max<size_t>(options_.max_batch, 1));
      while (take < queue_.size() && queue_[take - 1]->joined) ++take;  // never split a batch
      batch.assign(queue_.begin(), queue_.begin() + static_cast<long>(take));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
    }
    std::vector<Hash> hashes;
    hashes.reserve(batch.size());
    for (Pending* p : batch) hashes.push_back(LeafHash(p->entry));
    Status s;
    uint64_t base = 0;
    {
      std::lock_guard<std::mutex> sl(store_mu_);
      // Another process may append to the same store (several CLI commands, or serve processes
      // sharing PostgreSQL): take in what it wrote, then write after it. SQLite's BEGIN IMMEDIATE
      // serialises writers; on PostgreSQL two writers can race for an index, and the loser retries.
      for (int attempt = 0; attempt < 20; ++attempt) {
        s = store_->Begin();
        if (s.ok()) s = CatchUp();
        {
          std::lock_guard<std::mutex> tl(tree_mu_);
          base = tree_.size();
        }
        for (size_t i = 0; i < batch.size() && s.ok(); ++i) {
          s = store_->Exec(
              "INSERT INTO ledger_entries (idx, leaf_hash, entry) VALUES ($1, $2, $3)",
              {static_cast<int64_t>(base + i), crypto::HexEncode(hashes[i]), batch[i]->entry});
        }
        if (s.ok()) s = store_->Commit();
        if (s.ok()) break;
        store_->Rollback().IgnoreError();
        if (s.code() != StatusCode::kFailedPrecondition) break;  // only index races are retried
      }
      // Still under store_mu_: whoever next reads the store (CatchUp) sees a tree that already
      // holds what was just committed.
      if (s.ok()) {
        std::lock_guard<std::mutex> tl(tree_mu_);
        for (const Hash& h : hashes) tree_.Append(h);
      }
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->status = s;
        batch[i]->index = base + i;
        batch[i]->done = true;
      }
    }
    done_cv_.notify_all();
  }
}

Status Ledger::CatchUp() {
  uint64_t have;
  {
    std::lock_guard<std::mutex> tl(tree_mu_);
    have = tree_.size();
  }
  KEXIN_ASSIGN_OR_RETURN(
      auto rows,
      store_->Query("SELECT idx, leaf_hash, entry FROM ledger_entries WHERE idx >= $1 ORDER BY idx",
                    {static_cast<int64_t>(have)}));
  std::lock_guard<std::mutex> tl(tree_mu_);
  for (const auto& r : rows) {
    uint64_t idx = static_cast<uint64_t>(store::AsInt(r[0]));
    if (idx != tree_.size())
      return Corruption("ledger: entry " + std::to_string(tree_.size()) + " is missing");
    Hash h = LeafHash(store::AsText(r[2]));
    if (crypto::HexEncode(h) != store::AsText(r[1])) {
      return Corruption("ledger: entry " + std::to_string(idx) +
                        " does not match its stored leaf hash");
    }
    tree_.Append(h);
  }
  return Status::Ok();
}

uint64_t Ledger::Size() const {
  std::lock_guard<std::mutex> l(tree_mu_);
  return tree_.size();
}

Hash Ledger::Root(uint64_t size) const {
  std::lock_guard<std::mutex> l(tree_mu_);
  return tree_.Root(std::min(size, tree_.size()));
}

Result<std::string> Ledger::Entry(uint64_t index) const {
  std::lock_guard<std::mutex> l(store_mu_);
  KEXIN_ASSIGN_OR_RETURN(auto rows, store_->Query("SELECT entry FROM ledger_entries WHERE idx = $1",
                                                  {static_cast<int64_t>(index)}));
  if (rows.empty()) return NotFound("ledger entry " + std::to_string(index) + " does not exist");
  return store::AsText(rows[0][0]);
}

Result<Hash> Ledger::LeafHashAt(uint64_t index) const {
  std::lock_guard<std::mutex> l(tree_mu_);
  if (index >= tree_.size())
    return NotFound("ledger entry " + std::to_string(index) + " does not exist");
  return tree_.leaf(index);
}

Result<std::vector<Hash>> Ledger::InclusionProof(uint64_t index, uint64_t size) const {
  std::lock_guard<std::mutex> l(tree_mu_);
  if (size > tree_.size())
    return InvalidArgument("tree size " + std::to_string(size) + " exceeds the ledger size " +
                           std::to_string(tree_.size()));
  if (index >= size)
    return InvalidArgument("index " + std::to_string(index) + " is not below tree size " +
                           std::to_string(size));
  return tree_.InclusionProof(index, size);
}

Result<std::vector<Hash>> Ledger::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  std::lock_guard<std::mutex> l(tree_mu_);
  if (new_size > tree_.size())
    return InvalidArgument("tree size " + std::to_string(new_size) + " exceeds the ledger size " +
                           std::to_string(tree_.size()));
  if (old_size > new_size) return InvalidArgument("old size exceeds new size");
  return tree_.ConsistencyProof(old_size, new_size);
}

VerifierKey Ledger::verifier() const {
  return VerifierKey{options_.origin, kSigTypeEd25519, key_.public_key()};
}

Result<std::string> Ledger::LatestCheckpoint() const {
  std::lock_guard<std::mutex> l(store_mu_);
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store_->Query("SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"));
  if (rows.empty()) return NotFound("no checkpoint has been signed yet");
  return store::AsText(rows[0][0]);
}

Result<std::string> Ledger::SignCheckpoint() {
  // The whole read-check-store runs under store_mu_, so concurrent calls are serialized: none
  // reads a tree older than a checkpoint another call has just stored (which would be a false
  // "inconsistent" refusal) and two calls never insert the same size.
  std::lock_guard<std::mutex> sl(store_mu_);
  KEXIN_RETURN_IF_ERROR(CatchUp());  // entries other processes appended
  KEXIN_ASSIGN_OR_RETURN(
      auto rows, store_->Query("SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"));
  Checkpoint c;
  c.origin = options_.origin;
  {
    std::lock_guard<std::mutex> l(tree_mu_);
    c.size = tree_.size();
    c.root = tree_.Root(c.size);
  }
  if (!rows.empty()) {
    std::string last = store::AsText(rows[0][0]);
    KEXIN_ASSIGN_OR_RETURN(auto note, SignedNote::Parse(last));
    KEXIN_ASSIGN_OR_RETURN(auto prev, Checkpoint::ParseBody(note.text));
    if (prev.size > c.size) {  // another process appended and signed meanwhile: take it in
      KEXIN_RETURN_IF_ERROR(CatchUp());
      std::lock_guard<std::mutex> l(tree_mu_);
      c.size = tree_.size();
      c.root = tree_.Root(c.size);
    }
    if (prev.size > c.size || Root(prev.size) != prev.root) {
      return Corruption("refusing to sign: the tree at size " + std::to_string(c.size) +
                        " is not consistent with the checkpoint signed at size " +
                        std::to_string(prev.size));
    }
    if (prev.size == c.size) return last;  // nothing new to sign
  }
  SignedNote note;
  note.text = c.Body();
  note.signatures.push_back(SignNote(note.text, options_.origin, key_));
  std::string text = note.Serialize();
  Status ins = store_->Exec("INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3)",
                            {static_cast<int64_t>(c.size), crypto::HexEncode(c.root), text});
  if (ins.code() == StatusCode::kFailedPrecondition) {
    // Another process signed this size first: use its checkpoint if it is for the same tree.
    KEXIN_ASSIGN_OR_RETURN(
        auto same, store_->Query("SELECT root, note FROM ledger_checkpoints WHERE size = $1",
                                 {static_cast<int64_t>(c.size)}));
    if (!same.empty() && store::AsText(same[0][0]) == crypto::HexEncode(c.root))
      return store::AsText(same[0][1]);
    return Corruption("a different checkpoint is stored for tree size " + std::to_string(c.size));
  }
  KEXIN_RETURN_IF_ERROR(ins);
  return text;
}

Status Ledger::VerifyAll() const {
  std::vector<store::Row> rows;
  {
    std::lock_guard<std::mutex> l(store_mu_);
    KEXIN_ASSIGN_OR_RETURN(
        rows, store_->Query("SELECT idx, leaf_hash, entry FROM ledger_entries ORDER BY idx"));
  }
  MemoryTree fresh;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (store::AsInt(rows[i][0]) != static_cast<int64_t>(i))
      return Corruption("ledger: entry " + std::to_string(i) + " is missing");
    Hash h = LeafHash(store::AsText(rows[i][2]));
    KEXIN_ASSIGN_OR_RETURN(Hash stored, HashFromHex(store::AsText(rows[i][1])));
    if (h != stored)
      return Corruption("ledger: entry " + std::to_string(i) +
                        " does not match its stored leaf hash");
    fresh.Append(h);
  }
  std::vector<store::Row> cps;
  {
    std::lock_guard<std::mutex> l(store_mu_);
    KEXIN_ASSIGN_OR_RETURN(
        cps, store_->Query("SELECT size, note FROM ledger_checkpoints ORDER BY size"));
  }
  for (const auto& r : cps) {
    KEXIN_ASSIGN_OR_RETURN(auto note, SignedNote::Parse(store::AsText(r[1])));
    KEXIN_RETURN_IF_ERROR(
        VerifyNote(note, verifier())
            .WithContext("checkpoint at size " + std::to_string(store::AsInt(r[0]))));
    KEXIN_ASSIGN_OR_RETURN(auto c, Checkpoint::ParseBody(note.text));
    if (c.size > fresh.size() || fresh.Root(c.size) != c.root) {
      return Corruption("checkpoint at size " + std::to_string(c.size) +
                        " does not match the stored entries");
    }
  }
  return Status::Ok();
}

}  // namespace kexin::ledger
