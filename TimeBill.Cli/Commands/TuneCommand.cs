using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using TimeBill.Cli.Tuning;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Cli.Commands;

/// <summary>
/// <c>timebill tune</c>: searches the kernels on this machine (FSR), reports each winner against libtorch eager
/// and the naive .NET baseline with KernelBench's fast_p, and writes the per-machine tuning table.
/// </summary>
internal static class TuneCommand
{
    public static Command Create()
    {
        var kernels = new Option<string>("--kernels")
        {
            Description = $"Comma-separated kernels to tune: {string.Join(",", KernelSpecs.All.Select(s => s.Name))}",
            DefaultValueFactory = _ => string.Join(",", KernelSpecs.All.Select(s => s.Name)),
        };
        var budget = new Option<int>("--budget-seconds") { Description = "Time budget for the whole search", DefaultValueFactory = _ => 60 };
        var output = new Option<string>("--out") { Description = "Tuning table to write", DefaultValueFactory = _ => KernelTuningTable.DefaultPath };
        var proposals = new Option<string?>("--proposals")
        {
            Description = "Folder for source proposals: prompts are written to it, {kernel}/*.cs files in it are compiled and tried",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object to stdout instead of tables" };
        var command = new Command("tune", "Search, verify and time CPU kernels on this machine and write the tuning table.");
        foreach (var option in new Option[] { kernels, budget, output, proposals, json }) command.Options.Add(option);
        command.SetAction((parseResult, ct) =>
        {
            bool asJson = parseResult.GetValue(json);
            var console = asJson ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
            var names = parseResult.GetValue(kernels)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => KernelSpecs.All.All(s => s.Name != n)).ToList();
            int seconds = parseResult.GetValue(budget);
            if (unknown.Count > 0 || names.Length == 0 || seconds <= 0)
            {
                console.MarkupLineInterpolated($"[red]{(seconds <= 0 ? "--budget-seconds must be positive." : $"Unknown kernels: {string.Join(", ", unknown)}. Known: {string.Join(", ", KernelSpecs.All.Select(s => s.Name))}.")}[/]");
                return Task.FromResult(2);
            }
            string path = parseResult.GetValue(output)!;
            var eager = new TorchEagerKernelTimer();
            var results = Search([.. names.Select(KernelSpecs.Find)], TimeSpan.FromSeconds(seconds), parseResult.GetValue(proposals), eager, console, ct);
            if (eager.Unavailable is not null) console.MarkupLineInterpolated($"[yellow]libtorch unavailable, no eager timings: {eager.Unavailable}[/]");

            var table = KernelTuningTable.Load(path);
            if (table.Status != TuningTableStatus.Loaded) table = new KernelTuningTable();
            foreach (var result in results) table.Record(result.Entry, result.History);
            table.Save(path);

            if (asJson) Console.WriteLine(Json(results, seconds, path));
            else Print(console, results, path);
            return Task.FromResult(0);
        });
        return command;
    }

    private static List<KernelSearchResult> Search(List<KernelSpec> specs, TimeSpan budget, string? proposalFolder, TorchEagerKernelTimer eager,
        IAnsiConsole console, CancellationToken ct)
    {
        var machine = MachineDescription.Current;
        var jobs = specs.SelectMany(spec => spec.ProfileShapes.Select(shape => (spec, shape))).ToList();
        var proposers = new List<IKernelCandidateProposer>();
        if (proposalFolder is not null) proposers.Add(new SourceFolderProposer(proposalFolder, machine)); // asked for explicitly: tried first
        proposers.Add(new FeatureSpaceProposer());
        var search = new KernelSearch(proposers, new KernelProfiler(machine.LastLevelCacheBytes), eager);
        var results = new KernelSearchResult[jobs.Count];
        console.Status().Start("Loading Roslyn and libtorch (not counted in the budget)", _ =>
        {
            RoslynKernelCompiler.Compile(specs[0], specs[0].NaiveSource, "warm-up");
            eager.TryLoad();
        });
        long start = Stopwatch.GetTimestamp();
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var tasks = jobs.Select(j => context.AddTask($"{j.spec.Name} {j.shape}", autoStart: false, maxValue: 1)).ToList();
                // Cheap kernels first: time they leave unused flows to the large matrices at the end.
                for (int n = 0, i = jobs.Count - 1; i >= 0 && !ct.IsCancellationRequested; n++, i--)
                {
                    var (spec, shape) = jobs[i];
                    var task = tasks[i];
                    task.StartTask();
                    void Report(CandidateRecord r) => task.Description = Markup.Escape($"{spec.Name} {shape}: {r.Candidate} {r.Outcome}");
                    search.Tried += Report;
                    var left = budget - Stopwatch.GetElapsedTime(start);
                    results[i] = search.Run(spec, shape, left / (jobs.Count - n), ct);
                    search.Tried -= Report;
                    task.Description = Markup.Escape($"{spec.Name} {shape}: {results[i].History.Count} tried");
                    task.Value = 1;
                    task.StopTask();
                }
            });
        return [.. results.Where(r => r is not null)];
    }

    private static void Print(IAnsiConsole console, List<KernelSearchResult> results, string path)
    {
        var table = new Table().Title("Kernel search (FSR)");
        foreach (var column in new[] { "kernel", "shape", "tried", "rejected compile/wrong/slower", "winner", "µs", "eager µs", "×eager", "naive µs", "×naive", "stop" })
            table.AddColumn(column);
        foreach (var r in results)
            table.AddRow(r.Kernel, r.Shape, $"{r.History.Count}", $"{r.CompileErrors}/{r.Wrong}/{r.Slower}",
                Markup.Escape(r.Winner?.Candidate ?? "none"), Micro(r.Winner?.MedianSeconds), Micro(r.EagerSeconds), Ratio(r.SpeedupVsEager),
                Micro(r.NaiveSeconds), Ratio(r.SpeedupVsNaive), r.StopReason);
        console.Write(table);
        console.MarkupLine($"fast_1.0 = {Share(KernelSearchResult.FastP(results, 1.0))}   fast_1.5 = {Share(KernelSearchResult.FastP(results, 1.5))}   (correct and faster than libtorch eager by more than p)");
        console.MarkupLine($"Tuning table written to [blue]{Markup.Escape(path)}[/]");
    }

    private static string Json(List<KernelSearchResult> results, int budgetSeconds, string path) => JsonSerializer.Serialize(new
    {
        Machine = MachineFingerprint.Current,
        BudgetSeconds = budgetSeconds,
        Results = results.Select(r => new
        {
            r.Kernel, r.ShapeClass, r.Shape, Tried = r.History.Count, RejectedCompile = r.CompileErrors, RejectedWrong = r.Wrong,
            RejectedSlower = r.Slower, Winner = r.Winner?.Candidate, WinnerSeconds = r.Winner?.MedianSeconds, r.EagerSeconds,
            r.NaiveSeconds, r.SpeedupVsEager, r.SpeedupVsNaive, r.StopReason,
        }),
        FastP = new Dictionary<string, double?> { ["1.0"] = KernelSearchResult.FastP(results, 1.0), ["1.5"] = KernelSearchResult.FastP(results, 1.5) },
        TablePath = path,
    }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });

    private static string Micro(double? seconds) => seconds is { } s ? (s * 1e6).ToString(s < 1e-4 ? "F2" : "F0", CultureInfo.InvariantCulture) : "-";
    private static string Ratio(double? ratio) => ratio is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) + "×" : "-";
    private static string Share(double? share) => share is { } s ? s.ToString("P0", CultureInfo.InvariantCulture) : "n/a";
}
