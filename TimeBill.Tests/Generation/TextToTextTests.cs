using TimeBill.Core.ChatTemplates;
using TimeBill.Core.Generation;
using TimeBill.Tests.Support;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Generation;

/// <summary>
/// From prompt text to response text with the model's own tokenizer, template and stop ids: the reference's greedy
/// continuation, token for token and character for character.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class TextToTextTests(ModelFixture models)
{
    [Theory]
    [MemberData(nameof(ByteLevelBpeParityTests.TextCases), MemberType = typeof(ByteLevelBpeParityTests))]
    public async Task PromptTextGivesTheReferenceContinuationAndItsText(string model, int index)
    {
        var item = SharedAssets.Reference(model).GetProperty("text_cases")[index];
        var tokenizer = SharedTokenizers.Get(model);
        using var generator = new TextGenerator(models.Get(model), tokenizer);
        string prompt = item.GetProperty("prompt").GetString()!;
        int[] expected = item.Ints("greedy_continuation_ids");
        var options = new GenerationOptions { MaxNewTokens = expected.Length }; // stop ids: generation_config.json's and the tokenizer's EOS

        var result = item.GetProperty("add_special_tokens").GetBoolean()
            ? await generator.GenerateAsync(prompt, options)
            : await generator.GenerateAsync(tokenizer.Encode(prompt), options);

        Assert.Equal(item.Ints("input_ids"), result.PromptIds);
        Assert.Equal(expected, result.Ids);
        Assert.Equal(item.GetProperty("greedy_continuation_text_skip_special").GetString(), result.Text);
        Assert.Equal(item.GetProperty("greedy_continuation_text").GetString(), tokenizer.Decode(result.Ids, skipSpecialTokens: false));
    }

    /// <summary>The reference's chat case is the user message "Write a haiku about the sea." through the model's template.</summary>
    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public async Task AUserMessageThroughTheTemplateGivesTheReferenceChatContinuation(string model)
    {
        var item = SharedAssets.Reference(model).GetProperty("text_cases").EnumerateArray().Last();
        Assert.False(item.GetProperty("add_special_tokens").GetBoolean());
        var tokenizer = SharedTokenizers.Get(model);
        var template = Assert.IsType<ChatTemplate>(tokenizer.ChatTemplate);
        var prompt = template.RenderAndEncode(tokenizer, [new ChatTemplateMessage("user", "Write a haiku about the sea.")], new ChatTemplateOptions
        {
            AddGenerationPrompt = true,
            Variables = new Dictionary<string, object?> { ["enable_thinking"] = false },
        });
        Assert.Equal(item.GetProperty("prompt").GetString(), prompt.Text);

        using var generator = new TextGenerator(models.Get(model), tokenizer);
        var result = await generator.GenerateAsync(prompt.Ids, new GenerationOptions { MaxNewTokens = 16 });
        Assert.Equal(item.Ints("input_ids"), result.PromptIds);
        Assert.Equal(item.Ints("greedy_continuation_ids"), result.Ids);
        Assert.Equal(item.GetProperty("greedy_continuation_text_skip_special").GetString(), result.Text);
    }
}
