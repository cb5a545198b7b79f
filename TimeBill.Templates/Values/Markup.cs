namespace TimeBill.Templates.Values;

/// <summary>
/// Text marked safe by the <c>safe</c> filter: the <c>escape</c> filter leaves it as it is, and <c>+</c> escapes the plain
/// string added to it, as MarkupSafe does. Everywhere else it behaves as its text.
/// </summary>
internal sealed record Markup(string Text);
