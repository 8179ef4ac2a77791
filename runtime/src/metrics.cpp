#include "fp/runtime/metrics.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace fp::runtime {

namespace {

void append_number(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Shortest text that reads back as the same double: "0.1", not
  // "0.10000000000000001".
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ec == std::errc{} ? end : buf);
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void append_help(std::string& out, std::string_view name,
                 std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

} // namespace

// -- histogram ----------------------------------------------------------------

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)),
    buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0)
    sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(v * 1e6)),
                          std::memory_order_relaxed);
}

uint64_t histogram::bucket(size_t i) const noexcept {
  return buckets_[i].load(std::memory_order_relaxed);
}

uint64_t histogram::count() const noexcept {
  return count_.load(std::memory_order_relaxed);
}

double histogram::sum() const noexcept {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
}

// -- registry -----------------------------------------------------------------

void append_series_name(std::string& out, std::string_view name,
                        const std::vector<std::string>& label_names,
                        const label_values& labels) {
  out += name;
  if (label_names.empty())
    return;
  out += '{';
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (i > 0)
      out += ',';
    out += label_names[i];
    out += "=\"";
    append_label_value(out, i < labels.size() ? labels[i] : std::string{});
    out += '"';
  }
  out += '}';
}

metrics_registry::family&
metrics_registry::family_for(std::string_view name, std::string_view help,
                             kind type, std::vector<std::string>& label_names) {
  auto i = families_.find(name);
  if (i == families_.end()) {
    family f;
    f.name = std::string{name};
    f.help = std::string{help};
    f.type = type;
    f.label_names = std::move(label_names);
    i = families_.emplace(f.name, std::move(f)).first;
  } else if (i->second.type != type) {
    throw std::logic_error("metric family registered with two types: "
                           + std::string{name});
  }
  return i->second;
}

counter& metrics_registry::get_counter(std::string_view name,
                                       std::string_view help,
                                       std::vector<std::string> label_names,
                                       label_values labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_for(name, help, kind::counter, label_names);
  auto& slot = fam.counters[labels];
  if (!slot)
    slot = std::make_unique<counter>();
  return *slot;
}

gauge& metrics_registry::get_gauge(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names,
                                   label_values labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_for(name, help, kind::gauge, label_names);
  auto& slot = fam.gauges[labels];
  if (!slot)
    slot = std::make_unique<gauge>();
  return *slot;
}

histogram& metrics_registry::get_histogram(std::string_view name,
                                           std::string_view help,
                                           std::vector<double> bounds,
                                           std::vector<std::string> label_names,
                                           label_values labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = family_for(name, help, kind::histogram, label_names);
  if (fam.bounds.empty())
    fam.bounds = bounds;
  auto& slot = fam.histograms[labels];
  if (!slot)
    slot = std::make_unique<histogram>(fam.bounds);
  return *slot;
}

void metrics_registry::add_collector(collector fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  collectors_.push_back(std::move(fn));
}

std::string metrics_registry::render() const {
  std::string out;
  out.reserve(4096);
  std::vector<collector> collectors;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& [name, fam] : families_) {
      switch (fam.type) {
        case kind::counter:
          append_help(out, name, fam.help, "counter");
          for (const auto& [labels, c] : fam.counters) {
            append_series_name(out, name, fam.label_names, labels);
            out += ' ';
            out += std::to_string(c->value());
            out += '\n';
          }
          break;
        case kind::gauge:
          append_help(out, name, fam.help, "gauge");
          for (const auto& [labels, g] : fam.gauges) {
            append_series_name(out, name, fam.label_names, labels);
            out += ' ';
            out += std::to_string(g->value());
            out += '\n';
          }
          break;
        case kind::histogram: {
          append_help(out, name, fam.help, "histogram");
          auto names = fam.label_names;
          names.emplace_back("le");
          for (const auto& [labels, h] : fam.histograms) {
            uint64_t cumulative = 0;
            auto with_le = labels;
            with_le.resize(fam.label_names.size());
            with_le.emplace_back();
            for (size_t i = 0; i <= h->bounds().size(); ++i) {
              cumulative += h->bucket(i);
              with_le.back().clear();
              if (i < h->bounds().size())
                append_number(with_le.back(), h->bounds()[i]);
              else
                with_le.back() = "+Inf";
              append_series_name(out, name + "_bucket", names, with_le);
              out += ' ';
              out += std::to_string(cumulative);
              out += '\n';
            }
            append_series_name(out, name + "_sum", fam.label_names, labels);
            out += ' ';
            append_number(out, h->sum());
            out += '\n';
            append_series_name(out, name + "_count", fam.label_names, labels);
            out += ' ';
            out += std::to_string(h->count());
            out += '\n';
          }
          break;
        }
      }
    }
    collectors = collectors_;
  }
  // Collectors run outside the lock: they may read other registries.
  for (const auto& fn : collectors)
    fn(out);
  return out;
}

} // namespace fp::runtime
