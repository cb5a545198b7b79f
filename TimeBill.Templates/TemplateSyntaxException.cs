namespace TimeBill.Templates;

/// <summary>
/// A template that does not parse: a syntax error, or a construct this interpreter does not support (a statement,
/// filter, test, function or method it does not know), named in the message. Thrown when the template is loaded,
/// never while rendering.
/// </summary>
public sealed class TemplateSyntaxException : TemplateException
{
    /// <summary>Creates the exception for <paramref name="line"/> of the template.</summary>
    public TemplateSyntaxException(int line, string problem) : base(line, problem) { }
}
