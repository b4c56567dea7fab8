// Module `ledger`: kexin's append-only, tamper-evident log (存证溯源).
//
// Every entry is RFC 8785 canonical JSON {"body":...,"time":"RFC 3339 UTC","type":"..."}; its
// leaf hash (RFC 9162) and text are stored through the Store; the Merkle tree is kept in memory
// (MemoryTree) and rebuilt from the stored leaf hashes on open. Appends are acknowledged only after
// the transaction holding them has committed (fsync), and concurrent appends share one commit
// (group commit). On open the ledger re-verifies the tail entries against their stored hashes and
// the latest signed checkpoint against the tree, and refuses to run (kCorruption) when they
// disagree; it never repairs. Checkpoints are C2SP signed notes by the node key; the ledger never
// signs a checkpoint inconsistent with one it signed before. Formats: docs/ledger.md.
//
// Thread-safety: Append, reads and proofs may be called from any number of threads.
#ifndef KEXIN_LEDGER_LEDGER_H_
#define KEXIN_LEDGER_LEDGER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "crypto/crypto.h"
#include "kexin/status.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "store/store.h"

namespace kexin::ledger {

struct LedgerOptions {
  std::string origin;           // checkpoint origin and key name, e.g. "kexin.local/node-a"
  uint64_t verify_tail = 1000;  // entries re-verified on open
  size_t max_batch = 8192;      // most entries in one group commit
};

class Ledger {
 public:
  // Takes the store (migrated here), the node key and options.
  static Result<std::unique_ptr<Ledger>> Open(std::unique_ptr<store::Store> store,
                                              crypto::SigningKey key, LedgerOptions options);
  ~Ledger();

  // Appends {"body":body,"time":now,"type":type}; returns its index once durable.
  Result<uint64_t> Append(const std::string& type, const nlohmann::json& body);
  // Appends an already canonical entry text (tests, import); returns its index once durable.
  Result<uint64_t> AppendCanonical(std::string entry);
  // Appends (type, body) pairs in one commit, in order at consecutive indices; returns the first
  // index once durable. All or none are appended.
  Result<uint64_t> AppendBatch(const std::vector<std::pair<std::string, nlohmann::json>>& entries);

  uint64_t Size() const;
  Hash Root(uint64_t size) const;
  Result<std::string> Entry(uint64_t index) const;
  Result<Hash> LeafHashAt(uint64_t index) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

  // Signs and stores a checkpoint at the current size; returns the signed note.
  Result<std::string> SignCheckpoint();
  // The latest stored checkpoint note, or kNotFound before the first one.
  Result<std::string> LatestCheckpoint() const;

  // Re-verifies every entry against its stored hash, every stored checkpoint's signature, root
  // and consistency with the previous one.
  Status VerifyAll() const;

  VerifierKey verifier() const;
  const std::string& origin() const { return options_.origin; }
  const crypto::SigningKey& key() const { return key_; }

 private:
  Ledger(std::unique_ptr<store::Store> store, crypto::SigningKey key, LedgerOptions options);
  Status Load();
  Status CatchUp();  // appends to the tree what other processes wrote; store_mu_ held
  void CommitLoop();

  std::unique_ptr<store::Store> store_;
  crypto::SigningKey key_;
  LedgerOptions options_;

  mutable std::mutex store_mu_;  // guards store_
  mutable std::mutex tree_mu_;   // guards tree_
  MemoryTree tree_;

  // Group commit.
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  struct Pending {
    std::string entry;
    uint64_t index = 0;
    Status status;
    bool done = false;
    bool joined = false;  // the next queued entry belongs to the same AppendBatch: same commit
  };
  std::vector<Pending*> queue_;
  bool stop_ = false;
  std::thread committer_;
};

// The canonical entry text for (type, time, body).
Result<std::string> CanonicalEntry(const std::string& type, const std::string& time,
                                   const nlohmann::json& body);
using ::kexin::NowRfc3339;  // base/clock.h

}  // namespace kexin::ledger

#endif  // KEXIN_LEDGER_LEDGER_H_
