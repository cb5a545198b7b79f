namespace TimeBill.Templates.Evaluation;

/// <summary>
/// A failure while rendering, raised where the line is not known (inside a value operation or a built-in); the
/// renderer adds the line of the innermost expression or statement and throws a <see cref="TemplateRenderException"/>.
/// <see cref="RaisedByTemplate"/>: the template called <c>raise_exception</c>.
/// </summary>
internal sealed class RenderError(string message, bool raisedByTemplate = false) : Exception(message)
{
    public bool RaisedByTemplate { get; } = raisedByTemplate;
}
