#include "ledger/merkle.h"

namespace kexin::ledger {

Hash LeafHash(std::string_view entry) {
  static constexpr char kZero = 0;
  return crypto::Sha256(std::string_view(&kZero, 1), entry);
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 1;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return crypto::Sha256(std::string_view(reinterpret_cast<const char*>(buf), sizeof buf));
}

Hash EmptyRoot() { return crypto::Sha256(""); }

uint64_t SplitPoint(uint64_t n) {
  uint64_t k = uint64_t{1} << (63 - __builtin_clzll(n - 1));  // largest power of two below n
  return k;
}

void MemoryTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  uint64_t index = levels_[0].size() - 1;
  for (size_t l = 0; index & 1; ++l, index >>= 1) {
    if (levels_.size() <= l + 1) levels_.emplace_back();
    levels_[l + 1].push_back(NodeHash(levels_[l][index - 1], levels_[l][index]));
  }
}

Hash MemoryTree::SubtreeHash(uint64_t start, uint64_t end) const {
  uint64_t n = end - start;
  if ((n & (n - 1)) == 0 && (start & (n - 1)) == 0) {  // a perfect, aligned subtree: stored
    int l = __builtin_ctzll(n);
    return levels_[static_cast<size_t>(l)][start >> l];
  }
  uint64_t k = SplitPoint(n);
  return NodeHash(SubtreeHash(start, start + k), SubtreeHash(start + k, end));
}

Hash MemoryTree::Root(uint64_t size) const {
  return size == 0 ? EmptyRoot() : SubtreeHash(0, size);
}

void MemoryTree::Path(uint64_t m, uint64_t start, uint64_t end, std::vector<Hash>* out) const {
  uint64_t n = end - start;
  if (n == 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, start, start + k, out);
    out->push_back(SubtreeHash(start + k, end));
  } else {
    Path(m - k, start + k, end, out);
    out->push_back(SubtreeHash(start, start + k));
  }
}

std::vector<Hash> MemoryTree::InclusionProof(uint64_t index, uint64_t size) const {
  std::vector<Hash> out;
  Path(index, 0, size, &out);
  return out;
}

void MemoryTree::SubProof(uint64_t m, uint64_t start, uint64_t end, bool whole,
                          std::vector<Hash>* out) const {
  uint64_t n = end - start;
  if (m == n) {
    if (!whole) out->push_back(SubtreeHash(start, end));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, start, start + k, whole, out);
    out->push_back(SubtreeHash(start + k, end));
  } else {
    SubProof(m - k, start + k, end, false, out);
    out->push_back(SubtreeHash(start, start + k));
  }
}

std::vector<Hash> MemoryTree::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  std::vector<Hash> out;
  if (old_size == 0 || old_size == new_size) return out;
  SubProof(old_size, 0, new_size, true, &out);
  return out;
}

void MemoryTree::Truncate(uint64_t size) {
  for (size_t l = 0; l < levels_.size(); ++l) {
    uint64_t keep = size >> l;
    if (levels_[l].size() > keep) levels_[l].resize(keep);
  }
}

size_t MemoryTree::MemoryBytes() const {
  size_t b = 0;
  for (const auto& l : levels_) b += l.capacity() * sizeof(Hash);
  return b;
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size)
    return Corruption("inclusion proof: index " + std::to_string(index) +
                      " is not below tree size " + std::to_string(size));
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Corruption("inclusion proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Corruption("inclusion proof is shorter than the tree is deep");
  if (r != root) return Corruption("inclusion proof does not lead to the root hash");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) return Corruption("consistency proof: old size exceeds new size");
  if (old_size == new_size) {
    if (!proof.empty()) return Corruption("consistency proof between equal sizes must be empty");
    if (old_root != new_root) return Corruption("two different root hashes for the same tree size");
    return Status::Ok();
  }
  if (old_size == 0) {
    if (!proof.empty()) return Corruption("consistency proof from the empty tree must be empty");
    return Status::Ok();
  }
  if (proof.empty()) return Corruption("consistency proof is empty");
  std::vector<Hash> path;
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Corruption("consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Corruption("consistency proof is too short");
  if (fr != old_root) return Corruption("consistency proof does not lead to the old root hash");
  if (sr != new_root) return Corruption("consistency proof does not lead to the new root hash");
  return Status::Ok();
}

}  // namespace kexin::ledger
