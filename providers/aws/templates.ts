/** The AWS provider's templates (providers/aws/templates/), which may include the core's partials. */
import { findTemplatesDir, templateRenderer } from "../../render/templates";

export const AWS_TEMPLATES_DIR = findTemplatesDir(__dirname, "providers/aws/templates", "mount-data.sh.hbs");

/** Render `providers/aws/templates/<name>.hbs` with `data`. */
export const renderAwsTemplate = templateRenderer(AWS_TEMPLATES_DIR);
