namespace TimeBill.Predictors.ResponseLength;

/// <summary>One training example: a prompt and the length of the target model's response to it.</summary>
/// <param name="Story">The story the prompt came from; splits never separate a story's prompts.</param>
/// <param name="PromptIds">Prompt token ids, BOS included.</param>
/// <param name="ResponseLength">Generated tokens, stop token excluded.</param>
/// <param name="HitLengthCap">True when the response was cut by the context instead of a stop token.</param>
internal sealed record LengthRecord(long Story, int[] PromptIds, int ResponseLength, bool HitLengthCap);
