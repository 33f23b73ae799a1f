// Creating a tenant for someone: its name, the owner's email (they get an invite to own it) and,
// optionally, a plan of the catalog that needs no payment; the new tenant's page opens after.
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { Button } from "../ui/Button";
import { FormDialog } from "../ui/dialogs";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useCreateTenant } from "./tenants";

export function CreateTenantDialog() {
  const [open, setOpen] = useState(false);
  const create = useCreateTenant();
  const navigate = useNavigate();
  const errors = fieldErrorsOf(create.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const values = formValues(event.currentTarget);
    create.mutate(
      { name: values.name ?? "", owner_email: values.owner_email ?? "", plan: values.plan?.trim() || null },
      {
        onSuccess: (tenant) => {
          setOpen(false);
          void navigate(`/operator/tenants/${tenant.id}`);
        },
      },
    );
  };
  const changeOpen = (next: boolean) => {
    if (next) create.reset();
    setOpen(next);
  };
  return (
    <FormDialog
      title="Create a tenant"
      description="The owner gets an email inviting them to own the new team; nobody is a member until they accept."
      open={open}
      onOpenChange={changeOpen}
      trigger={<Button className="self-start">Create a tenant</Button>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={create.error} />
        <Field label="Team name" name="name" required maxLength={100} error={errors.name} />
        <Field label="Owner's email" name="owner_email" type="email" autoComplete="off" required error={errors.owner_email} />
        <Field
          label="Plan (optional)"
          name="plan"
          maxLength={40}
          hint="A plan without a price, such as free; paid plans are chosen by the owner."
          error={errors.plan}
        />
        <Button type="submit" busy={create.isPending}>
          Create tenant
        </Button>
      </form>
    </FormDialog>
  );
}
