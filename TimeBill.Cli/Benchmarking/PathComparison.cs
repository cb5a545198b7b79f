using Spectre.Console;
using TimeBill.Cli.Output;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Kernels.Memory;

namespace TimeBill.Cli.Benchmarking;

/// <summary>
/// <c>timebill bench --compare</c>: decode steps on libtorch's eager operators (the reference), and on the kernels with
/// float32 and with bfloat16 weights, measured in one process on one model, next to the machine's read bandwidth and the decode ceiling it implies for each
/// weight format (a decode step reads every matrix once: tokens/s ≤ bandwidth ÷ matrix bytes).
/// </summary>
internal static class PathComparison
{
    private sealed record Row(string Path, double PrefillTokensPerS, double DecodeTokensPerS, double DecodeMsPerToken,
        double MatrixMegabytes, double CeilingTokensPerS, double ShareOfCeiling, double SpeedupVsTorch);

    public static int Run(CausalLanguageModel model, int promptTokens, int genTokens, int runs, int seed, int threads, int prefillChunk, bool json)
    {
        var console = json ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
        console.MarkupLine("[grey]measuring read bandwidth…[/]");
        double bandwidth = ReadBandwidth.Measure(threads);
        long matrixElements = model.Weights.Matrices.Sum(m => (long)m.Rows * m.Cols);
        var paths = new (string Name, bool Libtorch, bool BFloat16, int BytesPerWeight)[]
        {
            ("libtorch eager", true, false, 4),
            ("kernels f32", false, false, 4),
            ("kernels bf16", false, true, 2),
        };
        var rows = new List<Row>();
        double torchDecode = 0;
        foreach (var (name, libtorch, bfloat16, bytesPerWeight) in paths)
        {
            console.MarkupLine($"[grey]{name}…[/]");
            using var engine = new GenerationEngine(model, new EngineOptions { BFloat16Weights = bfloat16, PrefillChunkSize = prefillChunk });
            var result = ThroughputBenchmark.Run(engine, promptTokens, genTokens, runs, seed, libtorchSteps: libtorch);
            if (libtorch) torchDecode = result.DecodeTokensPerS;
            double megabytes = matrixElements * bytesPerWeight / 1e6, ceiling = bandwidth / (matrixElements * bytesPerWeight);
            rows.Add(new Row(name, result.PrefillTokensPerS, result.DecodeTokensPerS, result.DecodeMsPerToken, megabytes, ceiling,
                result.DecodeTokensPerS / ceiling, result.DecodeTokensPerS / torchDecode));
        }
        if (json)
        {
            JsonOutput.Write(new { Model = model.Identity, Threads = threads, PromptTokens = promptTokens, GenTokens = genTokens, Runs = runs, ReadBandwidthGbPerS = bandwidth / 1e9, Paths = rows });
            return 0;
        }
        var table = new Table().AddColumns("decode steps", "prefill tok/s", "decode tok/s", "decode ms/token", "matrix MB/token", "bandwidth ceiling tok/s", "share of ceiling", "× torch");
        foreach (var row in rows)
            table.AddRow(row.Path, $"{row.PrefillTokensPerS:F1}", $"{row.DecodeTokensPerS:F1}", $"{row.DecodeMsPerToken:F3}", $"{row.MatrixMegabytes:F1}",
                $"{row.CeilingTokensPerS:F1}", $"{row.ShareOfCeiling:P0}", $"{row.SpeedupVsTorch:F2}");
        console.Write(table);
        console.MarkupLine($"{model.Identity}, {threads} threads, prompt {promptTokens}, {genTokens} steps × {runs} runs; read bandwidth {bandwidth / 1e9:F1} GB/s.");
        return 0;
    }
}
