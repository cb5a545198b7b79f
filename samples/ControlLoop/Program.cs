using TimeBill.Core.Budget;
using TimeBill.Core.Sampling;
using TimeBill.Predictors.Budget;
using TimeBill.Predictors.ExecutionTime;

// A control loop: every 200 ms it asks the model for an answer that must be ready within 150 ms.
string folder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "models", "stories260K");

// The budgeted generator. With no profile given, the first build on a machine measures a short one (progress below)
// and keeps it in ~/.cache/timebill; later builds reuse it, and the estimator keeps learning from the real jobs. A
// length predictor (.WithLengthPredictor("model.rlp"), from `timebill train-rlp`) and exit heads
// (.WithExitHeads("model.exit.json"), from `timebill train-exit`) make tighter plans; without them the plan
// assumes the token cap.
var progress = new Progress<ProfilingProgress>(p => Console.Error.Write($"\rprofiling: {p.Completed}/{p.Total}   "));
using var generator = new BudgetedGeneratorBuilder(folder).WithThreads(2).WithProgress(progress).Build();

// One job per period; Kill stops a job at its deadline with the text it has.
string[] prompts = ["Once upon a time", "The little dog", "One day, Lily", "Tom and his mom"];
using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
for (int tick = 1; tick <= 10; tick++)
{
    await timer.WaitForNextTickAsync();
    string prompt = prompts[tick % prompts.Length];
    var result = await generator.GenerateAsync(new BudgetedRequest
    {
        Prompt = prompt,
        Budget = TimeSpan.FromMilliseconds(150),
        Overrun = OverrunStrategy.Kill,
        MaxNewTokens = 48,
        Sampling = new SamplingOptions { Temperature = 1.0f, TopP = 0.9f, Seed = tick },
    });
    Console.WriteLine($"tick {tick,2}: {result.Status,-16} α={result.Plan?.EvictionRatio ?? 0:0.00} " +
        $"{result.TotalTime.TotalMilliseconds,5:0.0} ms  [{prompt}] {result.Text.ReplaceLineEndings(" ")}");
}
