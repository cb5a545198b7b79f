using System.CommandLine;
using TimeBill.Cli.Output;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill tokenize</c>: the ids and vocabulary tokens of a text, as the model's tokenizer gives them.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var text = new Option<string>("--text") { Description = "The text to encode.", Required = true };
        var special = new Option<bool>("--special")
        {
            Description = "Add the tokens a prompt gets (BOS for Llama and SentencePiece models: transformers' add_special_tokens=True).",
        };
        var json = ModelOptions.Json();
        var command = new Command("tokenize", "Encode a text with a model's tokenizer: ids and tokens (no weights are loaded).") { model, text, special, json };
        command.SetGuardedAction((parse, _) =>
        {
            var tokenizer = ModelOptions.LoadTokenizer(parse.GetValue(model)!);
            string input = parse.GetValue(text)!;
            int[] ids = parse.GetValue(special) ? tokenizer.EncodePrompt(input) : tokenizer.Encode(input);
            string?[] tokens = [.. ids.Select(tokenizer.IdToToken)];
            if (parse.GetValue(json))
                JsonOutput.Write(new { Ids = ids, Tokens = tokens });
            else
                for (int i = 0; i < ids.Length; i++) Console.WriteLine($"{ids[i],8}  {tokens[i]}");
            return Task.FromResult(0);
        });
        return command;
    }
}
