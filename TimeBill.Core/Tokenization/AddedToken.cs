namespace TimeBill.Core.Tokenization;

/// <summary>A token matched in the text as a whole before the model sees it (tokenizer.json <c>added_tokens</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">The text it matches.</param>
/// <param name="Special">Whether decoding with special tokens skipped drops it.</param>
/// <param name="SingleWord">Whether it only matches when no word character touches it on either side.</param>
/// <param name="LStrip">Whether it takes in the whitespace on its left.</param>
/// <param name="RStrip">Whether it takes in the whitespace on its right.</param>
/// <param name="Normalized">Whether it is matched in the normalized text rather than the raw text.</param>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LStrip = false,
    bool RStrip = false, bool Normalized = false);
