using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TimeBill.Cli.Plots;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using TimeBill.Core.Planning;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill profile</c>: measures and fits the execution-time estimator's latency model on this machine.</summary>
internal static class ProfileCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Hugging Face model folder (config.json + safetensors)." };
        var shape = new Option<string?>("--shape") { Description = "A config.json of a model shape; profiled with random weights (timings do not depend on weight values)." };
        var weights = ModelOptions.Weights();
        var maxPrompt = new Option<int?>("--max-prompt") { Description = "Longest prompt to profile (default: the context, at most 2048). Decode steps go to twice that, within the context." };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: TorchSharp's default). The profile is valid for this count only." };
        var output = new Option<string?>("--out") { Description = "Profile file to write (default: ete-profile.<model identity>.json)." };
        var plot = new Option<string?>("--plot") { Description = "PNG of measured points vs fitted curves (default: the profile path with .png)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout (progress goes to stderr)." };
        var clock = new Option<string>("--clock")
        {
            Description = "wall: elapsed time (default). cpu: this process's CPU time, for a shared machine whose cores are oversubscribed (use with --threads 1).",
            DefaultValueFactory = _ => "wall",
        };
        clock.AcceptOnlyFromAmong("wall", "cpu");
        var statistic = new Option<string>("--statistic")
        {
            Description = "How a point's repetitions become its time. median (default): what a request typically sees. min: the intrinsic cost, steadier on an oversubscribed machine.",
            DefaultValueFactory = _ => "median",
        };
        statistic.AcceptOnlyFromAmong("median", "min");
        var prefillRepetitions = new Option<int?>("--prefill-repetitions") { Description = "Timed repetitions per prompt length (default 5)." };
        var stepRepetitions = new Option<int?>("--step-repetitions") { Description = "Timed repetitions (batches of steps) per decode-step point (default 9)." };
        var stepsPerSample = new Option<int?>("--steps-per-sample") { Description = "Decode steps per repetition, timed one by one at the same KV length; the repetition is their median (default: 3 to 15, about 4 ms of steps)." };
        var budget = new Option<double>("--time-budget")
        {
            Description = "Seconds the run may take (default 480); every point gets one sample, later repetitions only while the budget lasts. 0: no limit.",
            DefaultValueFactory = _ => 480,
        };

        var quick = new Option<bool>("--quick")
        {
            Description = "The short profile a budgeted generator runs when it has none (small grids, about 10 s of measuring); grid and repetition options are ignored.",
        };

        var command = new Command("profile", "Profile prefill and decode-step times on this machine and fit the execution-time estimator.");
        foreach (var option in new Option[] { model, shape, weights, maxPrompt, threads, output, plot, json, clock, statistic, prefillRepetitions, stepRepetitions, stepsPerSample, budget, quick }) command.Options.Add(option);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            bool asJson = parseResult.GetValue(json);
            var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            var display = asJson ? stderr : AnsiConsole.Console;
            string? modelDir = parseResult.GetValue(model), shapePath = parseResult.GetValue(shape);
            int? threadCount = parseResult.GetValue(threads), promptCap = parseResult.GetValue(maxPrompt);

            if ((modelDir is null) == (shapePath is null))
                return Fail(stderr, "give exactly one of --model DIR or --shape CONFIG.json.");
            if (threadCount is < 1) return Fail(stderr, $"--threads must be ≥ 1, not {threadCount}.");
            if (promptCap is < 8) return Fail(stderr, $"--max-prompt must be ≥ 8, not {promptCap}.");
            int? prefillReps = parseResult.GetValue(prefillRepetitions), stepReps = parseResult.GetValue(stepRepetitions);
            if (prefillReps is < 1) return Fail(stderr, $"--prefill-repetitions must be ≥ 1, not {prefillReps}.");
            if (stepReps is < 1) return Fail(stderr, $"--step-repetitions must be ≥ 1, not {stepReps}.");
            int? batch = parseResult.GetValue(stepsPerSample);
            if (batch is < 1) return Fail(stderr, $"--steps-per-sample must be ≥ 1, not {batch}.");
            double budgetSeconds = parseResult.GetValue(budget);
            if (!(budgetSeconds >= 0)) return Fail(stderr, $"--time-budget must be ≥ 0 seconds, not {budgetSeconds}.");
            bool cpuClock = parseResult.GetValue(clock) == "cpu";

            try
            {
                // Files are checked before the native library loads, so a wrong path fails fast.
                using var loaded = modelDir is not null
                    ? ModelOptions.Load(modelDir, parseResult.GetValue(weights))
                    : ModelOptions.Open(null, shapePath, weights: parseResult.GetValue(weights));
                TorchSharpNativeLoader.EnsureLoaded();
                if (threadCount is { } t) TorchSharp.torch.set_num_threads(t);

                int context = loaded.Config.MaxPositions;
                int promptLength = Math.Min(promptCap ?? 2048, context);
                int kvLength = Math.Min(2 * promptLength, context - 1);
                var defaults = new ExecutionTimeProfilerOptions();
                var options = parseResult.GetValue(quick) ? QuickProfile.Options(context) : defaults with
                {
                    MaxPromptLength = promptLength,
                    MaxKvLength = kvLength,
                    PrefillRepetitions = prefillReps ?? defaults.PrefillRepetitions,
                    DecodeRepetitions = stepReps ?? defaults.DecodeRepetitions,
                    StepsPerSample = batch,
                    TimeBudget = budgetSeconds > 0 ? TimeSpan.FromSeconds(budgetSeconds) : null,
                    Statistic = parseResult.GetValue(statistic) == "min" ? SampleStatistic.Minimum : SampleStatistic.Median,
                };
                TimeProvider timer = cpuClock ? new ProcessCpuTimeProvider() : TimeProvider.System;
                using var engine = new GenerationEngine(loaded);
                using var target = new ModelProfilingTarget(engine, options.MaxPromptLength ?? promptLength, options.MaxKvLength ?? kvLength);
                string profilePath = parseResult.GetValue(output) ?? $"ete-profile.{target.ModelIdentity}.json";
                string plotPath = parseResult.GetValue(plot) ?? Path.ChangeExtension(profilePath, ".png");

                var watch = Stopwatch.StartNew();
                ExecutionTimeProfile? profile = null;
                await display.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask($"profiling {target.ModelIdentity}", maxValue: 1);
                        var progress = new ProgressTaskReporter(task);
                        profile = await Task.Run(() => new ExecutionTimeProfiler(timer).Run(target, options, progress, cancellationToken), cancellationToken);
                        task.Value = task.MaxValue;
                    });
                watch.Stop();

                profile!.Save(profilePath);
                ExecutionTimePlot.Save(profile, plotPath);
                if (asJson) Console.Out.WriteLine(JsonSummary(profile, profilePath, plotPath, watch.Elapsed.TotalSeconds));
                else Print(AnsiConsole.Console, profile, profilePath, plotPath, watch.Elapsed.TotalSeconds);
                return 0;
            }
            catch (OperationCanceledException)
            {
                return Fail(stderr, "profiling cancelled.", code: 130);
            }
            catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException or ArgumentException
                                           or InvalidOperationException or PlatformNotSupportedException)
            {
                return Fail(stderr, e.Message);
            }
        });
        return command;
    }

    private static int Fail(IAnsiConsole console, string message, int code = 1)
    {
        console.MarkupLineInterpolated($"[red]timebill profile: {message}[/]");
        return code;
    }

    private static void Print(IAnsiConsole console, ExecutionTimeProfile profile, string profilePath, string plotPath, double seconds)
    {
        var k = profile.Coefficients;
        console.MarkupLineInterpolated($"[bold]{profile.Key.ModelIdentity}[/] {profile.Key.DataType}, {profile.Key.Threads} threads, {profile.Key.Machine.CpuModel} ({profile.Key.Machine.LogicalCores} cores)");
        var table = new Table().AddColumns("curve (ms)", "coefficients", "held-out MAPE", "fit MAPE", "R²", "points (fit/held out)");
        static string Percent(double value) => double.IsNaN(value) ? "—" : $"{value:F2}%"; // NaN: no points held out
        void Row(string curve, string coefficients, FitQuality q) => table.AddRow(curve, coefficients,
            Percent(q.HeldOutMapePercent), Percent(q.FitMapePercent), $"{q.RSquared:F5}", $"{q.FitPoints}/{q.HeldOutPoints}");
        if (k.Prefill.QueryBlock > 0)
            Row($"prefill a·Nx² + b·Nx + c{Calls(k.Prefill.Chunk)} + d·⌈Nx/{k.Prefill.QueryBlock}⌉", $"a={k.Prefill.A:G4} b={k.Prefill.B:G4} c={k.Prefill.C:G4} d={k.Prefill.D:G4}", profile.Fit.Prefill);
        else
            Row($"prefill a·Nx² + b·Nx + c{Calls(k.Prefill.Chunk)}", $"a={k.Prefill.A:G4} b={k.Prefill.B:G4} c={k.Prefill.C:G4}", profile.Fit.Prefill);
        if (profile.Fit.CachedPrefill is { } warm)
        {
            if (k.Prefill.G is { } g && k.Prefill.H is { } h)
                Row($"warm prefill a·Nn² + g·Nn + h + k·min(Nn,{PrefillCost.ShortTokens}) + e·Nc·Nn + f·Nc", $"g={g:G4} h={h:G4} k={k.Prefill.K:G4} e={k.Prefill.E:G4} f={k.Prefill.F:G4}", warm);
            else
                Row("warm prefill t(Nn) + e·Nc·Nn + f·Nc", $"e={k.Prefill.E:G4} f={k.Prefill.F:G4}", warm);
        }
        Row("step p·Nkv + q", $"p={k.Step.P:G4} q={k.Step.Q:G4}", profile.Fit.Step);
        Row("step ℓ·(p1·Nkv + q1) + h", $"p1={k.LayeredStep.P1:G4} q1={k.LayeredStep.Q1:G4} h={k.LayeredStep.H:G4} (L={k.LayeredStep.LayerCount})", profile.Fit.LayeredStep);
        console.Write(table);
        console.MarkupLineInterpolated($"profiled in {seconds:F1} s ({profile.Measurements.StepsPerSample} steps per decode sample); profile: {profilePath}; plot: {plotPath}");
    }

    /// <summary>How often the prefill constant counts: once per chunk of a chunked prefill.</summary>
    private static string Calls(int chunk) => chunk > 0 ? $"·⌈Nx/{chunk}⌉" : "";

    private static string JsonSummary(ExecutionTimeProfile profile, string profilePath, string plotPath, double seconds)
    {
        var options = new JsonSerializerOptions(ExecutionTimeProfile.JsonOptions) { WriteIndented = false };
        return JsonSerializer.Serialize(new
        {
            ModelIdentity = profile.Key.ModelIdentity,
            profile.Key.DataType,
            profile.Key.Threads,
            Machine = profile.Key.Machine,
            profile.Measurements.Statistic,
            profile.Measurements.StepsPerSample,
            Coefficients = profile.Coefficients,
            Quality = new { profile.Fit.Prefill, profile.Fit.CachedPrefill, profile.Fit.Step, profile.Fit.LayeredStep },
            ProfilePath = profilePath,
            PlotPath = plotPath,
            RunSeconds = seconds,
        }, options);
    }

    /// <summary>Moves a Spectre progress task as the profiler reports (from the profiling thread).</summary>
    private sealed class ProgressTaskReporter(ProgressTask task) : IProgress<ProfilingProgress>
    {
        private ProfilingPhase? _phase;

        public void Report(ProfilingProgress value)
        {
            task.MaxValue = value.Total;
            task.Value = value.Completed;
            if (value.Phase != _phase) task.Description = $"profiling: {value.Phase}";
            _phase = value.Phase;
        }
    }
}
