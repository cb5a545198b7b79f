using TimeBill.Core.Budget;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using TimeBill.Core.Sampling;
using TimeBill.Predictors.Budget;
using TimeBill.Predictors.ExecutionTime;

// A control loop: every 200 ms it asks the model for an answer that must be ready within 150 ms.
string folder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "models", "stories260K");
const int threads = 2;

// 1. A quick execution-time profile of this model on this machine: a few seconds (`timebill profile` makes a thorough one).
TorchSharpNativeLoader.EnsureLoaded();
TorchSharp.torch.set_num_threads(threads);
string profilePath = Path.Combine(Path.GetTempPath(), $"controlloop-{Environment.ProcessId}.profile.json");
var quick = new ExecutionTimeProfilerOptions
{
    MaxPromptLength = 64, MaxKvLength = 192, PrefillGridPoints = 6, KvGridPoints = 4, LayerGridPoints = 2,
    PrefillRepetitions = 3, DecodeRepetitions = 3, WarmUpRounds = 1, WarmUpTime = TimeSpan.FromSeconds(1),
    ShortPointTime = TimeSpan.Zero, TimeBudget = TimeSpan.FromSeconds(3),
};
using (var model = CausalLanguageModel.Load(folder))
using (var target = new ModelProfilingTarget(model, quick.MaxPromptLength.Value, quick.MaxKvLength.Value))
    new ExecutionTimeProfiler().Run(target, quick).Save(profilePath);

// 2. The budgeted generator. A length predictor (.WithLengthPredictor("model.rlp"), from `timebill train-rlp`) and exit
//    heads (.WithExitHeads("model.exit.json"), from `timebill train-exit`) make tighter plans; without them the plan
//    assumes the token cap.
using var generator = new BudgetedGeneratorBuilder(folder).WithProfile(profilePath).WithThreads(threads).Build();
File.Delete(profilePath);

// 3. One job per period; Kill stops a job at its deadline with the text it has.
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
