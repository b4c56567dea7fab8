// Kernels of the scanner: validators and whole-cell matching, per cell.
// Run: cmake --preset ci && cmake --build --preset ci && build/ci/validators_bench
#include <benchmark/benchmark.h>

#include <cstring>

#include "scan/detector_set.h"
#include "scan/rules.h"
#include "scan/validators.h"

namespace {

using kexin::scan::DetectorSet;

const char* const kCells[] = {"11010519491231002X",
                              "13812345678",
                              "zhang.san@example.com",
                              "6222020200112233440",
                              "北京市朝阳区建国路88号",
                              "张伟",
                              "汉族",
                              "1990-02-28",
                              "iPhone 15 Pro",
                              "已发货，请注意查收",
                              "1234.56",
                              "91110000600037341L"};

void BM_IdCardCn(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(kexin::scan::IdCardCn("11010519491231002X"));
}
BENCHMARK(BM_IdCardCn);

void BM_PersonNameCn(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(kexin::scan::PersonNameCn("欧阳娜娜"));
}
BENCHMARK(BM_PersonNameCn);

void BM_MatchMixedCells(benchmark::State& state) {
  auto rules = kexin::scan::DefaultRules();
  auto det = DetectorSet::Build(*rules);
  auto scratch = (*det)->NewScratch();
  size_t bytes = 0;
  for (const char* c : kCells) bytes += strlen(c);
  for (auto _ : state) {
    for (const char* c : kCells) benchmark::DoNotOptimize((*det)->Match(c, scratch.get()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * std::size(kCells)));
}
BENCHMARK(BM_MatchMixedCells);

void BM_FindEmbedded(benchmark::State& state) {
  auto rules = kexin::scan::DefaultRules();
  auto det = DetectorSet::Build(*rules);
  auto scratch = (*det)->NewScratch();
  std::string text = "客户张伟来电，身份证号11010519491231002X，请回电13812345678，邮箱a@b.com。";
  for (auto _ : state) {
    int n = 0;
    (*det)->FindEmbedded(text, scratch.get(), [&](int, std::string_view) { ++n; });
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_FindEmbedded);

}  // namespace

namespace {
void BM_MatchOneCell(benchmark::State& state) {
  auto rules = kexin::scan::DefaultRules();
  auto det = DetectorSet::Build(*rules);
  auto scratch = (*det)->NewScratch();
  const char* c = kCells[state.range(0)];
  state.SetLabel(c);
  for (auto _ : state) benchmark::DoNotOptimize((*det)->Match(c, scratch.get()));
}
BENCHMARK(BM_MatchOneCell)->DenseRange(0, 11);
}  // namespace
