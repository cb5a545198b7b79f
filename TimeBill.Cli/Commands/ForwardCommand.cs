using System.CommandLine;
using TimeBill.Cli.Output;
using TimeBill.Core.Model;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill forward</c>: one forward pass over given ids, for parity checks and debugging.</summary>
internal static class ForwardCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder.", Required = true };
        var ids = new Option<string>("--ids") { Description = "Comma-separated token ids, e.g. 1,403,407.", Required = true };
        var weights = ModelOptions.Weights();
        var json = ModelOptions.Json();
        var command = new Command("forward", "Run one forward pass and print the last position's logits and the argmax per position.") { model, weights, ids, json };
        command.SetGuardedAction((parse, _) =>
        {
            int[] tokens = ParseIds(parse.GetValue(ids)!);
            using var lm = ModelOptions.Load(parse.GetValue(model)!, parse.GetValue(weights));
            using var cache = lm.CreateCache(tokens.Length);
            using var logits = lm.Forward(tokens, cache, allLogits: true);
            float[] last = logits[-1].data<float>().ToArray();
            long[] argmax = logits.argmax(-1).data<long>().ToArray();
            if (parse.GetValue(json))
                JsonOutput.Write(new { LastLogits = last, Argmax = argmax });
            else
                Console.WriteLine($"argmax per position: {string.Join(",", argmax)}\nlast logits: [{string.Join(", ", last.Take(8).Select(v => v.ToString("G6")))}, …] ({last.Length})");
            return Task.FromResult(0);
        });
        return command;
    }

    internal static int[] ParseIds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException("--ids is empty; give comma-separated token ids.");
        return parts.Select(p => int.TryParse(p, out int id) ? id : throw new ArgumentException($"--ids: '{p}' is not an integer token id.")).ToArray();
    }
}
