using System.Text.Json;

namespace TimeBill.Core.Constraints;

/// <summary>A function a model may call: its name and the JSON Schema of its arguments object.</summary>
/// <param name="Name">The function's name, as the call writes it.</param>
/// <param name="Parameters">The schema of the arguments: an object schema in <see cref="OutputConstraint.JsonSchema(string)"/>'s subset.</param>
public sealed record ToolDeclaration(string Name, JsonElement Parameters);
