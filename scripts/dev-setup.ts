/**
 * First step of `npm run dev`: give a fresh clone its local secrets. Copies .dev.vars.example to
 * .dev.vars when .dev.vars is missing; never overwrites an existing one.
 */
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local JWT secret).");
}
