namespace TimeBill.Core.ChatTemplates;

/// <summary>A rendered chat prompt and its token ids (the rendering already holds its special tokens, BOS included where the template writes it).</summary>
/// <param name="Text">The rendered text.</param>
/// <param name="Ids">The tokenizer's ids of <paramref name="Text"/>, without BOS/EOS added.</param>
public sealed record ChatTemplatePrompt(string Text, int[] Ids);
