using System.CommandLine;
using Spectre.Console;
using TimeBill.Cli.Benchmarking;
using TimeBill.Cli.Output;
using TimeBill.Core.Eviction;
using TimeBill.Core.Generation;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill bench</c>: prefill and decode throughput of a model folder or a random-weight shape.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var shape = ModelOptions.Shape();
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length.", DefaultValueFactory = _ => 128 };
        var genTokens = new Option<int>("--gen-tokens") { Description = "Decode steps per run.", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "Timed runs (median reported) after one warm-up.", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of random weights and tokens.", DefaultValueFactory = _ => 0 };
        var evict = new Option<string>("--evict") { Description = $"Eviction policy applied once after prefill: {string.Join(", ", EvictionPolicies.Names)}.", DefaultValueFactory = _ => "none" };
        var alpha = new Option<double>("--alpha") { Description = "Fraction of the prompt's KV entries evicted, in [0, 1).", DefaultValueFactory = _ => 0 };
        var weights = ModelOptions.Weights();
        var threads = ModelOptions.Threads();
        var json = ModelOptions.Json();
        var bf16 = new Option<bool>("--bf16") { Description = "Hold the decode kernels' matrices as bfloat16 (half the bytes per token)." };
        var prefillChunk = new Option<int>("--prefill-chunk")
        {
            Description = "Prompt tokens per prefill chunk.",
            DefaultValueFactory = _ => EngineOptions.DefaultPrefillChunkSize,
        };
        var cached = new Option<int>("--cached-tokens")
        {
            Description = "Also time a warm prefill after each cold one: this many leading prompt tokens (a multiple of 16) restored from the prefix cache, the rest prefilled.",
        };
        var compare = new Option<bool>("--compare")
        {
            Description = "Run decode steps on libtorch (the reference), kernels float32 and kernels bfloat16 in this one process, and measure the machine's read bandwidth: "
                + "the decode ceiling of each weight format (bandwidth ÷ matrix bytes per token).",
        };
        var command = new Command("bench", "Measure prefill and decode tokens/s (median of several runs).")
        {
            model, shape, weights, promptTokens, genTokens, runs, seed, evict, alpha, threads, bf16, prefillChunk, cached, compare, json,
        };
        command.SetGuardedAction((parse, _) =>
        {
            ModelOptions.SetThreads(parse.GetValue(threads));
            var policy = EvictionPolicies.Create(parse.GetValue(evict)!, parse.GetValue(seed));
            EvictionPolicy.ValidateAlpha(parse.GetValue(alpha));
            using var lm = ModelOptions.Open(parse.GetValue(model), parse.GetValue(shape), parse.GetValue(seed), parse.GetValue(weights));
            if (parse.GetValue(compare))
                return Task.FromResult(PathComparison.Run(lm, parse.GetValue(promptTokens), parse.GetValue(genTokens), parse.GetValue(runs),
                    parse.GetValue(seed), parse.GetValue(threads), parse.GetValue(prefillChunk), parse.GetValue(json)));
            using var engine = new GenerationEngine(lm, new EngineOptions { BFloat16Weights = parse.GetValue(bf16), PrefillChunkSize = parse.GetValue(prefillChunk) });
            var result = ThroughputBenchmark.Run(engine, parse.GetValue(promptTokens), parse.GetValue(genTokens), parse.GetValue(runs), parse.GetValue(seed),
                eviction: policy is NoEvictionPolicy ? null : policy, alpha: parse.GetValue(alpha), cachedTokens: parse.GetValue(cached));
            if (parse.GetValue(json))
            {
                JsonOutput.Write(new
                {
                    Model = lm.Identity,
                    Threads = parse.GetValue(threads),
                    DecodeWeights = engine.WeightFormat,
                    PrefillChunk = engine.Options.PrefillChunkSize,
                    result.PromptTokens,
                    result.GenTokens,
                    result.Runs,
                    result.PrefillTokensPerS,
                    result.DecodeTokensPerS,
                    result.PrefillMs,
                    result.DecodeMsPerToken,
                    Evict = policy.Name,
                    Alpha = parse.GetValue(alpha),
                    result.KeptEntries,
                    result.EvictMs,
                    result.CachedTokens,
                    result.WarmPrefillMs,
                    WarmToColdPrefill = result.CachedTokens > 0 ? result.WarmPrefillMs / result.PrefillMs : (double?)null,
                });
                return Task.FromResult(0);
            }
            var table = new Table().AddColumns("model", "decode weights", "prompt", "evict", "kept", "prefill tok/s", "decode tok/s", "prefill ms", "evict ms", "decode ms/token");
            table.AddRow(lm.Identity, engine.WeightFormat, result.PromptTokens.ToString(), $"{policy.Name} α={parse.GetValue(alpha)}", result.KeptEntries.ToString(),
                $"{result.PrefillTokensPerS:F1}", $"{result.DecodeTokensPerS:F1}", $"{result.PrefillMs:F2}", $"{result.EvictMs:F2}", $"{result.DecodeMsPerToken:F3}");
            AnsiConsole.Write(table);
            if (result.CachedTokens > 0)
                AnsiConsole.WriteLine($"warm prefill ({result.CachedTokens} cached, {result.PromptTokens - result.CachedTokens} new): {result.WarmPrefillMs:F2} ms = {result.WarmPrefillMs / result.PrefillMs:P1} of the cold prefill");
            return Task.FromResult(0);
        });
        return command;
    }
}
