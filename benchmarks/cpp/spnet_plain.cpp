// A plain, single-threaded C++ implementation of the spnet loop (Izhikevich 2006; the step order
// of REFERENCE.md section 3), written for the benchmarks as a hand-written compiled baseline:
// float state, weights and derivatives as in the author's code, a list of each step's firings,
// presynaptic trace history for the potentiation, and the author's per-neuron integration
// written with double constants. It is not the author's file and not bit-compared with spikesim.
//
//   spnet_plain N DURATION_MS PULSES_PER_STEP SEED PLASTIC(0|1) RESULT_PATH
//
// Network: 80 % excitatory RS, 20 % inhibitory FS; each excitatory neuron has 100 distinct
// targets among all neurons but itself, exactly 5 at each delay 1..20 ms, weight 6; each
// inhibitory neuron 100 distinct excitatory targets, delay 1 ms, weight -5. Every step,
// PULSES_PER_STEP random neurons get I = 20. Writes "key value" lines to RESULT_PATH: the set-up
// and loop times (steady clock), the loop's CPU time, spikes by population.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr int M = 100;  // outgoing synapses per neuron
constexpr int D = 20;   // longest delay, ms
constexpr int PER_DELAY = M / D;
constexpr float SM = 10.0f;  // largest weight

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s N DURATION_MS PULSES_PER_STEP SEED PLASTIC RESULT_PATH\n", argv[0]);
        return 2;
    }
    const int n = std::atoi(argv[1]);
    const long steps = std::atol(argv[2]);
    const int pulses = std::atoi(argv[3]);
    const unsigned seed = static_cast<unsigned>(std::atol(argv[4]));
    const bool plastic = std::atoi(argv[5]) != 0;
    const int ne = static_cast<int>(0.8 * n + 0.5);
    auto t_setup = std::chrono::steady_clock::now();

    std::mt19937 rng(seed);
    // outgoing synapses: neuron i's are i*M .. i*M + M - 1, ordered by delay (excitatory: the
    // synapses (d - 1) * 5 .. d * 5 - 1 have delay d; inhibitory: all delay 1)
    std::vector<int32_t> post(static_cast<size_t>(n) * M);
    std::vector<float> s(static_cast<size_t>(n) * M), sd(plastic ? static_cast<size_t>(ne) * M : 0, 0.0f);
    {
        std::vector<char> taken(n, 0);
        for (int i = 0; i < n; ++i) {
            const int pool = i < ne ? n : ne;
            int* row = &post[static_cast<size_t>(i) * M];
            for (int m = 0; m < M;) {
                int j = static_cast<int>(rng() % static_cast<unsigned>(pool));
                if (j == i || taken[j]) continue;
                taken[j] = 1;
                row[m++] = j;
            }
            for (int m = 0; m < M; ++m) taken[row[m]] = 0;
            std::fill(&s[static_cast<size_t>(i) * M], &s[static_cast<size_t>(i) * M] + M, i < ne ? 6.0f : -5.0f);
        }
    }
    // incoming excitatory (plastic) synapses of every neuron: synapse index, source, delay
    std::vector<int64_t> in_ptr(n + 1, 0);
    std::vector<int32_t> in_syn, in_pre;
    std::vector<int8_t> in_delay;
    if (plastic) {
        for (size_t k = 0; k < static_cast<size_t>(ne) * M; ++k) ++in_ptr[post[k] + 1];
        std::partial_sum(in_ptr.begin(), in_ptr.end(), in_ptr.begin());
        in_syn.resize(in_ptr[n]);
        in_pre.resize(in_ptr[n]);
        in_delay.resize(in_ptr[n]);
        std::vector<int64_t> fill(in_ptr.begin(), in_ptr.end() - 1);
        for (int j = 0; j < ne; ++j)
            for (int m = 0; m < M; ++m) {
                size_t k = static_cast<size_t>(j) * M + m;
                int64_t e = fill[post[k]]++;
                in_syn[e] = static_cast<int32_t>(k);
                in_pre[e] = j;
                in_delay[e] = static_cast<int8_t>(m / PER_DELAY + 1);
            }
    }
    std::vector<float> v(n, -65.0f), u(n), a(n), d(n), I(n, 0.0f), LTD(n, 0.0f);
    for (int i = 0; i < n; ++i) {
        u[i] = 0.2f * v[i];
        a[i] = i < ne ? 0.02f : 0.1f;
        d[i] = i < ne ? 8.0f : 2.0f;
    }
    // presynaptic trace P of every neuron for the last D + 1 steps: P[(t % (D + 1)) * n + j]
    std::vector<float> P(plastic ? static_cast<size_t>(D + 1) * n : 0, 0.0f);
    // firings of the last D steps: ring of D lists
    std::vector<std::vector<int32_t>> fired(D);
    for (auto& f : fired) f.reserve(n / 10 + 16);
    long spikes_exc = 0, spikes_inh = 0;
    const double setup_s = seconds_since(t_setup);

    auto t_loop = std::chrono::steady_clock::now();
    const std::clock_t c_loop = std::clock();
    for (long t = 0; t < steps; ++t) {
        // 1. thalamic input
        std::fill(I.begin(), I.end(), 0.0f);
        for (int k = 0; k < pulses; ++k) I[rng() % static_cast<unsigned>(n)] = 20.0f;
        // 2. firings of step t, potentiation of their incoming synapses
        std::vector<int32_t>& now = fired[t % D];
        now.clear();
        float* Pt = plastic ? &P[static_cast<size_t>(t % (D + 1)) * n] : nullptr;
        for (int i = 0; i < n; ++i) {
            if (v[i] < 30.0f) continue;
            v[i] = -65.0f;
            u[i] += d[i];
            now.push_back(i);
            if (i < ne) ++spikes_exc; else ++spikes_inh;
            if (!plastic) continue;
            Pt[i] = 0.1f;
            LTD[i] = 0.12f;
            for (int64_t e = in_ptr[i]; e < in_ptr[i + 1]; ++e) {
                long back = t - in_delay[e];  // P of the source as it stood delay steps ago
                if (back >= 0) sd[in_syn[e]] += P[static_cast<size_t>(back % (D + 1)) * n + in_pre[e]];
            }
        }
        // 3. deliveries: a spike of step tj with delay k arrives in step tj + k - 1; the most
        // recent firings first
        for (int age = 0; age < D && age <= t; ++age) {
            const int delay = age + 1;
            for (auto it = fired[(t - age) % D].rbegin(); it != fired[(t - age) % D].rend(); ++it) {
                const int j = *it;
                const size_t base = static_cast<size_t>(j) * M;
                size_t lo, hi;
                if (j < ne) {
                    lo = base + static_cast<size_t>(delay - 1) * PER_DELAY;
                    hi = lo + PER_DELAY;
                } else {
                    if (delay != 1) continue;
                    lo = base;
                    hi = base + M;
                }
                if (plastic && j < ne) {
                    for (size_t k = lo; k < hi; ++k) {
                        const int target = post[k];
                        I[target] += s[k];
                        sd[k] -= LTD[target];
                    }
                } else {
                    for (size_t k = lo; k < hi; ++k) I[post[k]] += s[k];
                }
            }
        }
        // 4. integration (two half-steps of v, then u), trace decay
        for (int i = 0; i < n; ++i) {
            v[i] += 0.5 * ((0.04 * v[i] + 5) * v[i] + 140 - u[i] + I[i]);
            v[i] += 0.5 * ((0.04 * v[i] + 5) * v[i] + 140 - u[i] + I[i]);
            u[i] += a[i] * (0.2 * v[i] - u[i]);
        }
        if (plastic) {
            float* Pn = &P[static_cast<size_t>((t + 1) % (D + 1)) * n];
            for (int i = 0; i < n; ++i) {
                Pn[i] = 0.95f * Pt[i];
                LTD[i] *= 0.95f;
            }
            // once per second: apply the derivatives of the excitatory synapses
            if (t % 1000 == 999)
                for (size_t k = 0; k < static_cast<size_t>(ne) * M; ++k) {
                    s[k] += 0.01f + sd[k];
                    sd[k] *= 0.9f;
                    s[k] = std::min(SM, std::max(0.0f, s[k]));
                }
        }
    }
    const double loop_s = seconds_since(t_loop);
    const double loop_cpu_s = static_cast<double>(std::clock() - c_loop) / CLOCKS_PER_SEC;

    FILE* out = std::fopen(argv[6], "w");
    if (!out) return 1;
    std::fprintf(out, "setup_s %.9f\nloop_s %.9f\nloop_cpu_s %.9f\nspikes_exc %ld\nspikes_inh %ld\n", setup_s, loop_s, loop_cpu_s, spikes_exc, spikes_inh);
    std::fclose(out);
    return 0;
}
