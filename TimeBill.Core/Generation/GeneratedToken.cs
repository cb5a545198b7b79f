namespace TimeBill.Core.Generation;

/// <summary>
/// One streamed token: its id and the text it completes (empty while a character is incomplete). A last
/// item with <c>Id == -1</c> carries text held back at the end of the stream, if any.
/// </summary>
/// <param name="Id">Token id.</param>
/// <param name="Text">Text this token adds to the response.</param>
/// <param name="Index">0-based index among the generated tokens.</param>
public readonly record struct GeneratedToken(int Id, string Text, int Index);
