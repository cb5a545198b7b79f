using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;

// The model folder: the first argument, else the stories260K copied beside the program.
string folder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "models", "stories260K");

using var model = CausalLanguageModel.Load(folder);
var tokenizer = TextTokenizer.Load(folder, model.GenerationConfig.BosTokenId);
using var generator = new TextGenerator(model, tokenizer);

var options = new GenerationOptions
{
    MaxNewTokens = 200,
    Sampling = new SamplingOptions { Temperature = 1.0f, TopP = 0.9f, Seed = 42 },
};
Console.Write("Once upon a time");
await foreach (var token in generator.StreamAsync("Once upon a time", options))
    Console.Write(token.Text);
Console.WriteLine();
