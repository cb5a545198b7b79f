namespace TimeBill.Templates;

/// <summary>
/// A template that fails while rendering: an undefined value used where a value is needed, a method called on the
/// wrong type, a value that cannot be converted, and the like.
/// </summary>
public class TemplateRenderException : TemplateException
{
    /// <summary>Creates the exception for <paramref name="line"/> of the template.</summary>
    public TemplateRenderException(int line, string problem, Exception? inner = null) : base(line, problem, inner) { }
}
