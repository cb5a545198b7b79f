using System.CommandLine;
using TimeBill.Cli.Output;
using TimeBill.Core.Checkpoints.Gguf;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill convert</c>: a model folder, or a shape with random weights, written as a GGUF file.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var shape = ModelOptions.Shape();
        var seed = new Option<long>("--seed") { Description = "Seed of the random weights of --shape.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "The GGUF file to write.", Required = true };
        var type = new Option<string>("--type")
        {
            Description = $"Type of the weight matrices: {string.Join(", ", GgufExport.Types)} (norms and biases stay f32).",
            DefaultValueFactory = _ => "f32",
        };
        var json = ModelOptions.Json();
        var command = new Command("convert", "Write a model folder (or a --shape with random weights) as a GGUF file that llama.cpp loads.")
            { model, shape, seed, output, type, json };
        command.SetGuardedAction((parse, _) =>
        {
            string? folder = parse.GetValue(model), config = parse.GetValue(shape);
            using var lm = ModelOptions.Open(folder, config, parse.GetValue(seed));
            string? tokenizerFolder = config is null ? folder ?? ModelOptions.DefaultModelFolder : null;
            if (tokenizerFolder is not null && !HasTokenizer(tokenizerFolder)) tokenizerFolder = null;
            var report = GgufExport.Write(lm, parse.GetValue(output)!, parse.GetValue(type)!, tokenizerFolder);
            if (parse.GetValue(json)) JsonOutput.Write(report);
            else
                Console.WriteLine($"{report.Path}: {report.Bytes / 1e6:F1} MB, matrices {string.Join(", ", report.MatrixTypes.Select(p => $"{p.Value} × {p.Key}"))}"
                    + (tokenizerFolder is null ? ", no tokenizer" : ""));
            return Task.FromResult(0);
        });
        return command;
    }

    private static bool HasTokenizer(string folder) =>
        Directory.Exists(folder) && (File.Exists(Path.Combine(folder, "tokenizer.model")) || File.Exists(Path.Combine(folder, "tokenizer.json")));
}
