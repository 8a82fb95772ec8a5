// Loaded on every page: small progressive enhancements only.
import { installConfirm } from "./confirm";

installConfirm(document, (q) => window.confirm(q));
