// RFC 9162 section 2.1 Merkle tree: leaf and node hashing, tree heads, inclusion and consistency
// proofs, and their verification. MemoryTree keeps every complete subtree hash (2n hashes for n
// leaves) so any subtree hash, and so any proof, costs O(log n) lookups.
// Thread-safety: the free functions are pure; MemoryTree is not thread-safe (the ledger guards it).
#ifndef KEXIN_LEDGER_MERKLE_H_
#define KEXIN_LEDGER_MERKLE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "kexin/status.h"

namespace kexin::ledger {

using crypto::Hash;

Hash LeafHash(std::string_view entry);               // SHA-256(0x00 || entry)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash EmptyRoot();                                    // SHA-256("")

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n);

class MemoryTree {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const Hash& leaf(uint64_t index) const { return levels_[0][index]; }
  // MTH(D[start:end]) of the leaves appended so far; requires start < end <= size().
  Hash SubtreeHash(uint64_t start, uint64_t end) const;
  // MTH(D[0:size]); EmptyRoot() for 0.
  Hash Root(uint64_t size) const;
  // RFC 9162 2.1.3.1 PATH(index, D[0:size]); requires index < size <= size().
  std::vector<Hash> InclusionProof(uint64_t index, uint64_t size) const;
  // RFC 9162 2.1.4.1 PROOF(old_size, D[0:new_size]); requires 0 < old_size <= new_size <= size().
  std::vector<Hash> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;
  void Truncate(uint64_t size);  // for rebuilding; drops leaves at and after `size`
  size_t MemoryBytes() const;

 private:
  void Path(uint64_t m, uint64_t start, uint64_t end, std::vector<Hash>* out) const;
  void SubProof(uint64_t m, uint64_t start, uint64_t end, bool whole, std::vector<Hash>* out) const;
  std::vector<std::vector<Hash>> levels_;  // levels_[l][i] = hash of leaves [i*2^l, (i+1)*2^l)
};

// RFC 9162 2.1.3.2. kCorruption when the proof does not lead to the root.
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root);
// RFC 9162 2.1.4.2. kCorruption when the trees are not consistent.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, const std::vector<Hash>& proof);

}  // namespace kexin::ledger

#endif  // KEXIN_LEDGER_MERKLE_H_
